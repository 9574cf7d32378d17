using Scalar.AspNetCore;

namespace Im.Host.OpenApi;

/// <summary><c>/openapi/v1.json</c>, generated from the endpoints, and <c>/docs</c>, the interactive reference over it.</summary>
public static class OpenApiSetup
{
    public const string DocumentName = "v1";
    public const string DocumentRoute = "/openapi/{documentName}.json";
    public const string DocsRoute = "/docs";

    public static void AddImOpenApi(this IServiceCollection services) => services.AddOpenApi(DocumentName, options =>
    {
        options.AddDocumentTransformer<DocumentInfo>();
        options.AddSchemaTransformer<ContractSchemas>();
        options.AddOperationTransformer<PathIds>();
        options.AddOperationTransformer<ErrorResponses>();
        options.AddDocumentTransformer<HandDescribedEndpoints>();
        options.AddDocumentTransformer<WebSocketFrames>();
    });

    /// <summary>Both open in Jwt mode too: they are outside /api and carry no authorization.</summary>
    public static void MapImOpenApi(this WebApplication app)
    {
        app.MapOpenApi(DocumentRoute);
        // Scalar serves its own bundled script from this host. Nothing may reach outside it: the service
        // may run with no network, and a page about patients' data calls no third party. So no fonts
        // from a CDN, no telemetry, no AI agent, no MCP integration, and no developer toolbar (whose
        // Share and Generate SDK send the document to Scalar's cloud).
        app.MapScalarApiReference(DocsRoute, scalar => scalar
            .WithTitle("ImAkka API")
            .WithOpenApiRoutePattern(DocumentRoute)
            .AddDocument(DocumentName)
            .DisableDefaultFonts()
            .DisableTelemetry()
            .DisableAgent()
            .DisableMcp()
            .HideDeveloperTools()
            .AddPreferredSecuritySchemes(SecurityRequirements.UserIdHeader));
    }
}
