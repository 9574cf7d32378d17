using System.Text.Json;
using Im.Contracts;
using Im.Host.Config;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace Im.Host.Api;

public static class Health
{
    /// <summary><c>/health/live</c>: the process and ActorSystem run. <c>/health/ready</c>: the cluster and store can serve.</summary>
    public static void MapHealth(this IEndpointRouteBuilder app)
    {
        // Default status codes: 200 for Healthy and Degraded, 503 for Unhealthy.
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = check => check.Tags.Contains(HealthTags.Live), ResponseWriter = WriteJson });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains(HealthTags.Ready), ResponseWriter = WriteJson });
    }

    /// <summary>Each check's status and description; never its exception, whose text may name hosts or hold a stack.</summary>
    private static Task WriteJson(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var checks = report.Entries.ToDictionary(entry => entry.Key,
            entry => new HealthCheckResponse(entry.Value.Status.ToString(), entry.Value.Description));
        return context.Response.WriteAsync(JsonSerializer.Serialize(new HealthResponse(report.Status.ToString(), checks), ImJson.Options));
    }
}

public sealed class RedisHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var latency = await redis.GetDatabase().PingAsync();
            return HealthCheckResult.Healthy($"store answered in {latency.TotalMilliseconds:F1} ms");
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy("store unreachable", ex);
        }
    }
}
