using System.Globalization;
using Im.Actors;
using Im.Contracts;
using Im.Host.Config;

namespace Im.Host.Api;

public static class SendRate
{
    /// <summary>
    /// The endpoint takes one send from the caller's budget (<see cref="SendRateLimiter"/>, shared
    /// with WebSocket sends) before its body is read: a flood costs the server no parsing.
    /// </summary>
    public static RouteHandlerBuilder CountsAgainstSendRate(this RouteHandlerBuilder endpoint) =>
        endpoint.ProducesErrors(ErrorCodes.RateLimited).AddEndpointFilter(async (invocation, next) =>
        {
            var context = invocation.HttpContext;
            if (context.CallerOf().UserId is { } sender
                && context.RequestServices.GetRequiredService<SendRateLimiter>().TryAcquire(sender) is { } retryAfter)
            {
                var seconds = SendRateLimiter.Seconds(retryAfter);
                context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                return ApiResults.Error(ErrorCodes.RateLimited, $"too many messages; retry after {seconds} s");
            }
            return await next(invocation);
        });
}
