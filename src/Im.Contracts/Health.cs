namespace Im.Contracts;

/// <summary><c>/health/live</c> and <c>/health/ready</c>: <c>Healthy</c>, <c>Degraded</c> or <c>Unhealthy</c>, overall and per check.</summary>
public sealed record HealthResponse(string Status, IReadOnlyDictionary<string, HealthCheckResponse> Checks);

public sealed record HealthCheckResponse(string Status, string? Description);
