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
            logger.LogError(feature?.Error, "Unhandled error on {Method} {Path}", context.Request.Method, context.Request.Path);
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
                503 => (ErrorCodes.ServiceUnavailable, "service unavailable"),
                >= 500 => (ErrorCodes.InternalError, "internal error"),
                _ => (ErrorCodes.InvalidParameter, "bad request"),
            };
            await ApiResults.Error(code, message).ExecuteAsync(context);
        });

        app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            if ((path.StartsWithSegments("/api") || path.StartsWithSegments("/ws"))
                && !context.RequestServices.GetRequiredService<ClusterReadiness>().IsUp)
            {
                context.Response.Headers.RetryAfter = "1";
                await ApiResults.Error(ApiResults.Unavailable).ExecuteAsync(context);
                return;
            }
            await next(context);
        });
    }
}
