using System.Text.Json;
using System.Text.Json.Nodes;
using Im.Contracts;
using Im.Host.Config;
using Im.Host.OpenApi;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.OpenApi;
using StackExchange.Redis;

namespace Im.Host.Api;

public static class Health
{
    /// <summary><c>/health/live</c>: the process and ActorSystem run. <c>/health/ready</c>: the cluster and store can serve.</summary>
    public static void MapHealth(this IEndpointRouteBuilder app)
    {
        // Default status codes: 200 for Healthy and Degraded, 503 for Unhealthy.
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = check => check.Tags.Contains(HealthTags.Live), ResponseWriter = WriteJson })
            .DescribedAs(HttpMethod.Get, "Health", operation => Describe(operation, "GetLiveness", "Liveness: the process and its ActorSystem run"));
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains(HealthTags.Ready), ResponseWriter = WriteJson })
            .DescribedAs(HttpMethod.Get, "Health", operation => Describe(operation, "GetReadiness",
                "Readiness: a cluster member that is up, whose shard regions reach their coordinators, with the store reachable"));
    }

    /// <summary>Each check's status and description; never its exception, whose text may name hosts or hold a stack.</summary>
    private static Task WriteJson(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var checks = report.Entries.ToDictionary(entry => entry.Key,
            entry => new HealthCheckResponse(entry.Value.Status.ToString(), entry.Value.Description));
        return context.Response.WriteAsync(JsonSerializer.Serialize(new HealthResponse(report.Status.ToString(), checks), ImJson.Options));
    }

    private static void Describe(OpenApiOperation operation, string id, string summary)
    {
        operation.OperationId = id;
        operation.Summary = summary;
        operation.Responses ??= [];
        operation.Responses["200"] = Report("Healthy or degraded.", HealthStatus.Healthy, HealthStatus.Degraded);
        operation.Responses["503"] = Report("Unhealthy.", HealthStatus.Unhealthy);
    }

    // The writer's JSON, described by hand: a health check endpoint has no handler for the generator to read.
    private static OpenApiResponse Report(string description, params HealthStatus[] statuses) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType>
        {
            ["application/json"] = new()
            {
                Schema = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    Required = new HashSet<string> { "status", "checks" },
                    Properties = new Dictionary<string, IOpenApiSchema>
                    {
                        ["status"] = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [.. statuses.Select(s => (JsonNode)s.ToString())] },
                        ["checks"] = new OpenApiSchema
                        {
                            Type = JsonSchemaType.Object,
                            AdditionalProperties = new OpenApiSchema
                            {
                                Type = JsonSchemaType.Object,
                                Required = new HashSet<string> { "status" },
                                Properties = new Dictionary<string, IOpenApiSchema>
                                {
                                    ["status"] = new OpenApiSchema
                                    {
                                        Type = JsonSchemaType.String,
                                        Enum = [.. Enum.GetNames<HealthStatus>().Select(name => (JsonNode)name)],
                                    },
                                    ["description"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
                                },
                            },
                        },
                    },
                },
            },
        },
    };
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
