using System.Globalization;
using System.Text;
using Im.Actors;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Im.Host.Config;

/// <summary>
/// <c>GET /metrics</c>: OpenTelemetry's Prometheus exporter over this node's <see cref="ImMetrics"/>
/// and the meters ASP.NET Core, Kestrel and the .NET runtime publish themselves. Access as
/// <c>/api/ops/*</c> (<see cref="OpsAuthorization"/>).
/// </summary>
public static class Telemetry
{
    public const string MetricsPath = "/metrics";

    public static void AddImTelemetry(this WebApplicationBuilder builder, ImMetrics metrics)
    {
        builder.Services.AddSingleton(metrics);
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("imakka"))
            .WithMetrics(meters => meters
                .AddMeter(ImMetrics.MeterName)
                // Microsoft.AspNetCore.Hosting, .Routing, .Diagnostics, .Server.Kestrel and the others ASP.NET Core publishes.
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                .AddPrometheusExporter());
    }

    public static void MapMetrics(this IEndpointRouteBuilder app) =>
        app.MapPrometheusScrapingEndpoint(MetricsPath, meterProvider: null,
                configureBranchedPipeline: branch => branch.Use(EmptyAiCallDuration.AddUntilRecorded), optionsName: null)
            .RequireAuthorization(OpsAuthorization.Policy);
}

/// <summary>
/// DESIGN.md promises every <c>im_*</c> series from start-up, at 0. The counters and gauges are
/// observable and so are exported at once, but OpenTelemetry's SDK exports a histogram only from its
/// first measurement and has no way to export an empty one. Until this node's first AI call this adds
/// to the scrape the histogram the exporter itself would write with no measurements: same name, labels
/// and buckets (an end-to-end spec holds the two equal in both text formats), all 0. After the first
/// call it steps aside, and the exporter's own series carries on under the same identity.
/// </summary>
internal static class EmptyAiCallDuration
{
    private const string Name = ImMetrics.AiCallDurationInstrument + "_seconds";
    private const string Scope = "otel_scope_name=\"" + ImMetrics.MeterName + "\"";

    public static async Task AddUntilRecorded(HttpContext context, RequestDelegate next)
    {
        if (context.RequestServices.GetRequiredService<ImMetrics>().AiCallDurationRecorded)
        {
            await next(context);
            return;
        }
        // Uncompressed, so the text can be added to; only until the first AI call.
        context.Request.Headers.AcceptEncoding = default;
        var body = context.Response.Body;
        using var buffer = new MemoryStream();
        context.Response.Body = buffer;
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = body;
        }
        var text = Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        // A call may have finished while the exporter collected; then its own histogram is there.
        if (context.Response.StatusCode == StatusCodes.Status200OK && !text.Contains($"\n{Name}_count", StringComparison.Ordinal))
            text = Add(text, context.Response.ContentType?.StartsWith("application/openmetrics-text", StringComparison.OrdinalIgnoreCase) == true);
        await context.Response.WriteAsync(text, Encoding.UTF8, context.RequestAborted);
    }

    private static string Add(string exposition, bool openMetrics)
    {
        var block = new StringBuilder();
        block.Append(CultureInfo.InvariantCulture, $"# TYPE {Name} histogram\n");
        if (openMetrics) block.Append(CultureInfo.InvariantCulture, $"# UNIT {Name} seconds\n");
        block.Append(CultureInfo.InvariantCulture, $"# HELP {Name} {ImMetrics.AiCallDurationDescription}\n");
        foreach (var bound in ImMetrics.AiCallDurationBuckets)
            block.Append(CultureInfo.InvariantCulture, $"{Name}_bucket{{{Scope},le=\"{Bound(bound, openMetrics)}\"}} 0\n");
        block.Append(CultureInfo.InvariantCulture, $"{Name}_bucket{{{Scope},le=\"+Inf\"}} 0\n");
        block.Append(CultureInfo.InvariantCulture, $"{Name}_sum{{{Scope}}} 0\n");
        block.Append(CultureInfo.InvariantCulture, $"{Name}_count{{{Scope}}} 0\n");
        // OpenMetrics ends with "# EOF", after which nothing may follow.
        const string eof = "# EOF";
        var end = exposition.LastIndexOf(eof, StringComparison.Ordinal);
        return end >= 0 && openMetrics
            ? exposition[..end] + block + exposition[end..]
            : exposition + (exposition.Length == 0 || exposition.EndsWith('\n') ? "" : "\n") + block;
    }

    /// <summary>As the exporter writes <c>le</c>: shortest round trip in Prometheus text, canonical (<c>1.0</c>) in OpenMetrics.</summary>
    private static string Bound(double bound, bool openMetrics)
    {
        var text = bound.ToString("R", CultureInfo.InvariantCulture);
        return openMetrics && !text.Contains('.', StringComparison.Ordinal) && !text.Contains('E', StringComparison.Ordinal) ? text + ".0" : text;
    }
}
