using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.OpenApi;

namespace Im.Host.OpenApi;

/// <summary>How an endpoint that ApiExplorer leaves out is described; see <see cref="HandDescribedEndpoints"/>.</summary>
public sealed record HandDescribedOperation(HttpMethod Method, string Tag, Action<OpenApiOperation> Describe);

/// <summary>
/// Adds the endpoints ApiExplorer cannot see: health checks (no handler method) and the WebSocket
/// (mapped for every method, so that a POST gets the spec's 400 rather than a 405). Each carries its
/// description in its own metadata, next to its mapping; its path and path parameters come from its
/// route, and its errors and security from the same declarations as every other endpoint's.
/// </summary>
public sealed class HandDescribedEndpoints(EndpointDataSource endpoints) : IOpenApiDocumentTransformer
{
    public async Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        foreach (var endpoint in endpoints.Endpoints.OfType<RouteEndpoint>())
        {
            if (endpoint.Metadata.GetMetadata<HandDescribedOperation>() is not { } described) continue;
            var operation = new OpenApiOperation
            {
                Tags = new HashSet<OpenApiTagReference> { new(described.Tag, document) },
                Parameters = [.. endpoint.RoutePattern.Parameters.Select(PathParameter)],
                Responses = [],
            };
            described.Describe(operation);
            await ErrorResponses.Apply(operation, endpoint.Metadata, document,
                type => context.GetOrCreateSchemaAsync(type, null, cancellationToken));

            document.Tags ??= new HashSet<OpenApiTag>();
            if (!document.Tags.Any(t => t.Name == described.Tag)) document.Tags.Add(new OpenApiTag { Name = described.Tag });
            var path = "/" + endpoint.RoutePattern.RawText!.TrimStart('/');
            if (!document.Paths.TryGetValue(path, out var item)) document.Paths[path] = item = new OpenApiPathItem();
            var pathItem = (OpenApiPathItem)item;
            pathItem.Operations ??= [];
            pathItem.Operations[described.Method] = operation;
        }
    }

    private static IOpenApiParameter PathParameter(RoutePatternParameterPart parameter) =>
        new OpenApiParameter { Name = parameter.Name, In = ParameterLocation.Path, Required = true, Schema = PathIds.IdSchema() };
}
