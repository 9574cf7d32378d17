using System.Diagnostics;
using Microsoft.AspNetCore.Routing;

namespace Im.Host.Config;

public static class RequestLog
{
    /// <summary>
    /// One line per request: method, route pattern, status and time, at Information (health probes
    /// at Debug: they come every few seconds). The route pattern, not the path: no ids, and never
    /// the query string, where a socket's token travels. Outermost, so it sees the final status.
    /// </summary>
    public static void UseRequestLog(this WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Im.Host.Requests");
        app.Use(async (context, next) =>
        {
            var clock = Stopwatch.StartNew();
            try
            {
                await next(context);
            }
            finally
            {
                var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no route)";
                var level = context.Request.Path.StartsWithSegments("/health") ? LogLevel.Debug : LogLevel.Information;
                logger.Log(level, "HTTP {Method} {Route} answered {StatusCode} in {ElapsedMs:F1} ms",
                    context.Request.Method, route, context.Response.StatusCode, clock.Elapsed.TotalMilliseconds);
            }
        });
    }
}
