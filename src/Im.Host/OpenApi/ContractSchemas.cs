using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Im.Host.OpenApi;

/// <summary>
/// What the contract records say beyond their types: <c>[AllowedValues]</c> becomes an enum (ASP.NET
/// maps the length attributes itself, not this one), and a property written only when it has a value
/// (<c>JsonIgnore(WhenWritingNull)</c>, such as a frame's <c>client_msg_id</c>) is optional and never
/// null, instead of required and nullable.
/// </summary>
/// <remarks>
/// Where such a property refers to a component (a REST message's <c>media</c>), ASP.NET adds the null
/// alternative after the transformers run, so that one stays "optional, or null": looser than the
/// wire, never wrong about it.
/// </remarks>
public sealed class ContractSchemas : IOpenApiSchemaTransformer
{
    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.JsonPropertyInfo?.AttributeProvider?.GetCustomAttributes(typeof(JsonIgnoreAttribute), inherit: true)
            is [JsonIgnoreAttribute { Condition: JsonIgnoreCondition.WhenWritingNull }, ..])
            NeverNull(schema);
        if (context.JsonTypeInfo.Kind != System.Text.Json.Serialization.Metadata.JsonTypeInfoKind.Object)
            return Task.CompletedTask;
        foreach (var property in context.JsonTypeInfo.Properties)
        {
            var attributes = property.AttributeProvider;
            if (attributes is null || schema.Properties?.TryGetValue(property.Name, out var found) != true) continue;
            if (attributes.GetCustomAttributes(typeof(AllowedValuesAttribute), inherit: true) is [AllowedValuesAttribute allowed, ..]
                && found is OpenApiSchema values)
                values.Enum = [.. allowed.Values.Select(v => JsonSerializer.SerializeToNode(v)!)];
            if (attributes.GetCustomAttributes(typeof(JsonIgnoreAttribute), inherit: true) is [JsonIgnoreAttribute { Condition: JsonIgnoreCondition.WhenWritingNull }, ..])
            {
                schema.Required?.Remove(property.Name);
                if (found is OpenApiSchema optional) NeverNull(optional);
            }
        }
        return Task.CompletedTask;
    }

    private static void NeverNull(OpenApiSchema schema)
    {
        if (schema.Type is { } type) schema.Type = type & ~JsonSchemaType.Null;
        if (schema.OneOf is { } alternatives)
        {
            foreach (var alternative in alternatives.Where(a => a is OpenApiSchema { Type: JsonSchemaType.Null }).ToList())
                alternatives.Remove(alternative);
        }
    }
}
