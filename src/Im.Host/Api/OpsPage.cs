using System.Reflection;

namespace Im.Host.Api;

/// <summary>
/// <c>GET /ops</c>: a page with no outside resources and no build step, embedded in the assembly.
/// The shell is public; the figures come from <c>/api/ops/cluster</c> with the caller's credentials.
/// The page keeps a token in sessionStorage, so its policy allows scripts from this origin only.
/// </summary>
public static class OpsPage
{
    private const string Policy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly (string Path, string Resource, string ContentType)[] Files =
    [
        ("/ops", "index.html", "text/html; charset=utf-8"),
        ("/ops/ops.js", "ops.js", "text/javascript; charset=utf-8"),
        ("/ops/ops.css", "ops.css", "text/css; charset=utf-8"),
        // Without an icon of its own the browser asks for /favicon.ico, a 404 in its console.
        ("/ops/favicon.svg", "favicon.svg", "image/svg+xml"),
    ];

    public static void MapOpsPage(this IEndpointRouteBuilder app)
    {
        foreach (var (path, resource, contentType) in Files)
        {
            var bytes = Read(resource);
            app.MapGet(path, (HttpContext context) =>
            {
                var headers = context.Response.Headers;
                headers.ContentSecurityPolicy = Policy;
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "no-referrer";
                headers.CacheControl = "no-cache";
                return Results.Bytes(bytes, contentType);
            }).AllowAnonymous().ExcludeFromDescription();
        }
    }

    private static byte[] Read(string name)
    {
        using var stream = typeof(OpsPage).Assembly.GetManifestResourceStream("opspage/" + name)
            ?? throw new InvalidOperationException($"the ops page's {name} is not embedded");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
