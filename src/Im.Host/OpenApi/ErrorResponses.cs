using System.Globalization;
using System.Text.Json.Nodes;
using Im.Contracts;
using Im.Host.Api;
using Im.Host.Config;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.OpenApi;

namespace Im.Host.OpenApi;

/// <summary>
/// Turns what an endpoint declares into its error responses and security: the codes of its
/// <see cref="ErrorCodesMetadata"/>, one response per status (<see cref="ApiResults.StatusFor"/>)
/// whose <c>error.code</c> is an enum of them; 401 and the security requirement from its
/// authorization metadata, so they follow the policies the endpoint really runs.
/// </summary>
public sealed class ErrorResponses : IOpenApiOperationTransformer
{
    public const string ErrorSchema = nameof(ErrorResponse);

    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken) =>
        Apply(operation, context.Description.ActionDescriptor.EndpointMetadata, context.Document!,
            type => context.GetOrCreateSchemaAsync(type, null, cancellationToken));

    /// <summary>Also used for the endpoints ApiExplorer does not describe (<see cref="HandDescribedEndpoints"/>).</summary>
    public static async Task Apply(OpenApiOperation operation, IEnumerable<object> metadata, OpenApiDocument document,
        Func<Type, Task<OpenApiSchema>> schemaOf)
    {
        var endpoint = metadata.ToList();
        var codes = endpoint.OfType<ErrorCodesMetadata>().SelectMany(m => m.Codes).ToList();
        var policies = endpoint.OfType<IAuthorizeData>().Select(a => a.Policy).ToList();
        if (policies.Count > 0 && !endpoint.OfType<IAllowAnonymous>().Any())
        {
            codes.Add(ErrorCodes.Unauthorized);
            operation.Security = policies.Contains(OpsAuthorization.Policy)
                ? SecurityRequirements.ForOps(document)
                : SecurityRequirements.For(document, callerRequired: policies.Contains(Identity.CallerPolicy));
        }
        if (codes.Count == 0) return;

        if (document.Components?.Schemas?.ContainsKey(ErrorSchema) != true)
            document.AddComponent(ErrorSchema, await schemaOf(typeof(ErrorResponse)));
        operation.Responses ??= [];
        foreach (var status in codes.Distinct().GroupBy(ApiResults.StatusFor).OrderBy(g => g.Key))
        {
            operation.Responses[status.Key.ToString(CultureInfo.InvariantCulture)] = new OpenApiResponse
            {
                Description = Describe(status.Key, [.. status]),
                Headers = status.Key is StatusCodes.Status429TooManyRequests or StatusCodes.Status503ServiceUnavailable
                    ? new Dictionary<string, IOpenApiHeader> { ["Retry-After"] = RetryAfter }
                    : null,
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    ["application/json"] = new() { Schema = ErrorWithCodes(document, [.. status]) },
                },
            };
        }
    }

    /// <summary>The error body, with <c>error.code</c> narrowed to what this operation answers with this status.</summary>
    private static OpenApiSchema ErrorWithCodes(OpenApiDocument document, IReadOnlyList<string> codes) => new()
    {
        AllOf =
        [
            new OpenApiSchemaReference(ErrorSchema, document),
            new OpenApiSchema
            {
                Properties = new Dictionary<string, IOpenApiSchema>
                {
                    ["error"] = new OpenApiSchema
                    {
                        Properties = new Dictionary<string, IOpenApiSchema>
                        {
                            ["code"] = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [.. codes.Select(c => (JsonNode)c)] },
                        },
                    },
                },
            },
        ],
    };

    private static string Describe(int status, IReadOnlyList<string> codes) =>
        ReasonPhrases.GetReasonPhrase(status) + ": " + string.Join("; ", codes.Select(c => $"`{c}` {Meaning(c)}"));

    private static readonly OpenApiHeader RetryAfter = new()
    {
        Description = "Seconds to wait before retrying.",
        Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "0" },
    };

    // What each code means to a client, as the README's error table says it.
    private static string Meaning(string code) => code switch
    {
        ErrorCodes.InvalidParameter => "a malformed body, field, path or query value (details.field names it)",
        ErrorCodes.ContentEmpty => "content missing, empty or only whitespace",
        ErrorCodes.ContentTooLong => $"content over {Limits.ContentMax} characters",
        ErrorCodes.GroupIdEmpty => "group_id missing or empty",
        ErrorCodes.UserNotFound => "user unknown (path, body or caller)",
        ErrorCodes.AlreadyMember => "user already in the group",
        ErrorCodes.NotMember => "the sender, uploader or user to remove is not a member of the group",
        ErrorCodes.GroupNotFound => "group unknown",
        ErrorCodes.MessageNotFound => "message unknown",
        ErrorCodes.MediaNotFound => "image unknown",
        ErrorCodes.RecordNotFound => "AI interaction record unknown",
        ErrorCodes.Unauthorized => "no caller where one is needed (Header mode: X-User-Id); Jwt mode: a token missing, invalid or expired, or whose sub is no user",
        ErrorCodes.Forbidden => "Jwt mode: the caller may not do this (see the authorization table); in both modes, a caller who is not a DOCTOR member "
            + "removing a member or retrying an AI reply, or stopping one without having asked; an operations caller who is not allowed",
        ErrorCodes.IdempotencyConflict => "this client_msg_id was used in this group within 24 h with other content",
        ErrorCodes.InvalidState => "the AI record's state does not allow this (stop a finished reply, retry a success)",
        ErrorCodes.PayloadTooLarge => "the image is over Im__MediaMaxBytes",
        ErrorCodes.UnsupportedMediaType => "the body's Content-Type (or, for an image, its bytes) is not accepted",
        ErrorCodes.RateLimited => "over the sender's send rate",
        ErrorCodes.ServiceUnavailable => "the node is not ready, the store is unreachable, or an actor did not answer in time; retry",
        ErrorCodes.InternalError => "unexpected; the log has it",
        _ => "",
    };
}
