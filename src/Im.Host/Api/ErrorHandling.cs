using Im.Actors;
using Im.Contracts;
using Im.Host.Config;
using Microsoft.AspNetCore.Diagnostics;

namespace Im.Host.Api;

public static class ErrorHandling
{
    /// <summary>
    /// Every response that is not a success carries the spec's error body: unhandled exceptions
    /// (500, no stack trace), unknown routes, wrong methods and content types that ASP.NET answers
    /// with an empty body, and requests that arrive before the cluster can answer (503).
    /// </summary>
    public static void UseImErrorHandling(this WebApplication app)
    {
        app.UseExceptionHandler(handler => handler.Run(async context =>
        {
            var feature = context.Features.Get<IExceptionHandlerFeature>();
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Im.Host.Errors");
            if (feature?.Error is BadHttpRequestException bad)
            {
                context.Response.StatusCode = bad.StatusCode;
                await ApiResults.Error(ErrorCodes.InvalidParameter, "bad request").ExecuteAsync(context);
                return;
            }
            // The store or an actor being out of reach is the client's 503, not our bug.
            if (feature?.Error is { } error && Errors.For(error).Code == ErrorCodes.ServiceUnavailable)
            {
                logger.LogWarning("{Method} {Route} answered 503: {Error}", context.Request.Method, RouteOf(feature), error.GetType().Name);
                context.Response.Headers.RetryAfter = "1";
                await ApiResults.Error(ApiResults.Unavailable).ExecuteAsync(context);
                return;
            }
            logger.LogError(feature?.Error, "Unhandled error on {Method} {Route}", context.Request.Method, RouteOf(feature));
            await ApiResults.Error(ErrorCodes.InternalError, "internal error").ExecuteAsync(context);
        }));

        app.UseStatusCodePages(async statusContext =>
        {
            var context = statusContext.HttpContext;
            var (code, message) = context.Response.StatusCode switch
            {
                404 => (ErrorCodes.NotFound, "no such route"),
                405 => (ErrorCodes.MethodNotAllowed, "method not allowed on this route"),
                415 => (ErrorCodes.UnsupportedMediaType, "Content-Type must be application/json"),
                401 => (ErrorCodes.Unauthorized, "authentication required"),
                403 => (ErrorCodes.Forbidden, "forbidden (a WebSocket from an origin not in Im__AllowedOrigins)"),
                429 => (ErrorCodes.RateLimited, "too many requests"),
                503 => (ErrorCodes.ServiceUnavailable, "service unavailable"),
                >= 500 => (ErrorCodes.InternalError, "internal error"),
                _ => (ErrorCodes.InvalidParameter, "bad request"),
            };
            await ApiResults.Error(code, message).ExecuteAsync(context);
        });

        app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            // The ops endpoints describe a node that is not ready too; that is when they are needed.
            if ((path.StartsWithSegments("/api") || path.StartsWithSegments("/ws")) && !path.StartsWithSegments("/api/ops")
                && !context.RequestServices.GetRequiredService<ClusterReadiness>().IsUp)
            {
                context.Response.Headers.RetryAfter = "1";
                await ApiResults.Error(ApiResults.Unavailable).ExecuteAsync(context);
                return;
            }
            await next(context);
        });
    }

    /// <summary>The failed request's route pattern (<c>/ws/{user_id}</c>): never its path with ids, nor its query with a token.</summary>
    private static string RouteOf(IExceptionHandlerFeature? feature) =>
        (feature?.Endpoint as RouteEndpoint)?.RoutePattern.RawText ?? "(no route)";
}
