using System.Text.Json;
using System.Text.Json.Nodes;
using Im.Contracts;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace Im.Host.OpenApi;

/// <summary>What an endpoint says about itself for the OpenAPI document, written next to its mapping.</summary>
public static class OperationConventions
{
    public static TBuilder DescribedAs<TBuilder>(this TBuilder builder, HttpMethod method, string tag, Action<OpenApiOperation> describe)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new HandDescribedOperation(method, tag, describe));

    /// <summary>
    /// An example request and answer, as records: written with the host's JSON options, so they carry the
    /// wire's names and no field the records lack (the OpenAPI specs validate them against the schemas).
    /// </summary>
    public static RouteHandlerBuilder WithExample(this RouteHandlerBuilder builder, object? request, object response) =>
        builder.AddOpenApiOperationTransformer((operation, context, _) =>
        {
            var json = context.ApplicationServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
            if (request is not null && operation.RequestBody?.Content?.TryGetValue("application/json", out var body) == true)
                body.Example = WithoutNulls(JsonSerializer.SerializeToNode(request, request.GetType(), json));
            if (operation.Responses?.TryGetValue("200", out var ok) == true && ok.Content?.TryGetValue("application/json", out var answer) == true)
                answer.Example = JsonSerializer.SerializeToNode(response, response.GetType(), json);
            return Task.CompletedTask;
        });

    // In a request an absent optional field and a null one mean the same; the example shows the body a client writes.
    private static JsonNode? WithoutNulls(JsonNode? node)
    {
        if (node is JsonObject fields)
        {
            foreach (var name in fields.Where(f => f.Value is null).Select(f => f.Key).ToList()) fields.Remove(name);
        }
        return node;
    }

    /// <summary>
    /// Query parameters the handler binds as plain strings, so that its own rules read them (ASCII digits
    /// only, 1003 for a missing group): what each value must be. A name the handler does not bind fails
    /// the document, so the two cannot drift apart.
    /// </summary>
    public static RouteHandlerBuilder WithQuery(this RouteHandlerBuilder builder, params QueryParameter[] parameters) =>
        builder.AddOpenApiOperationTransformer((operation, context, _) =>
        {
            foreach (var declared in parameters)
            {
                var bound = operation.Parameters?.OfType<OpenApiParameter>().FirstOrDefault(p => p.Name == declared.Name && p.In == ParameterLocation.Query)
                    ?? throw new InvalidOperationException($"{context.Description.RelativePath} binds no query parameter {declared.Name}");
                bound.Required = declared.Required;
                bound.Description = declared.Description;
                bound.Schema = declared.Schema();
            }
            return Task.CompletedTask;
        });
}

public sealed record QueryParameter(string Name, bool Required, string Description, Func<OpenApiSchema> Schema)
{
    public static readonly QueryParameter GroupId = new("group_id", true, "The group. Missing or empty: 400 `1003`.",
        () => new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = Limits.IdMax });

    public static readonly QueryParameter Page = new("page", false, "Page number, from 1 (ASCII digits only).",
        () => new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "1", Maximum = int.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture), Default = 1 });

    public static readonly QueryParameter PageSize = new("page_size", false, "Items per page (ASCII digits only).",
        () => new OpenApiSchema
        {
            Type = JsonSchemaType.Integer, Minimum = "1", Maximum = Limits.PageSizeMax.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Default = Limits.DefaultPageSize,
        });

    public static readonly QueryParameter AfterSeq = new("after_seq", false,
        "Only messages with a greater seq, oldest first: the catch-up after a gap or a reconnect. `total` stays the group's total.",
        () => new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "0" });

    public static readonly QueryParameter ReviewState = new("review_state", false,
        "`pending`: only the records whose draft waits for a doctor (review mode), newest first.",
        () => new OpenApiSchema { Type = JsonSchemaType.String, Enum = [System.Text.Json.Nodes.JsonValue.Create(ReviewStates.Pending)] });
}
