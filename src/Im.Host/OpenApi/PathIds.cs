using Im.Contracts;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Im.Host.OpenApi;

/// <summary>Every path parameter of this service is an id, checked by <see cref="RequestReader.CheckId"/>: 1 to 64 characters.</summary>
public sealed class PathIds : IOpenApiOperationTransformer
{
    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        foreach (var parameter in operation.Parameters?.OfType<OpenApiParameter>().Where(p => p.In == ParameterLocation.Path) ?? [])
            parameter.Schema = IdSchema();
        return Task.CompletedTask;
    }

    public static OpenApiSchema IdSchema() => new() { Type = JsonSchemaType.String, MinLength = 1, MaxLength = Limits.IdMax };
}
