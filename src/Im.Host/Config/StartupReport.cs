using System.Net;
using System.Reflection;
using Akka.Actor;
using Akka.Cluster;
using Im.Actors.Ai;
using Im.Host.Api;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Im.Host.Config;

/// <summary>Which store this node uses and where: <c>embedded</c> (its data directory) or <c>redis</c> (its endpoints, never its password).</summary>
public sealed record StoreInfo(string Kind, string Location)
{
    public override string ToString() => $"{Kind} ({Location})";
}

/// <summary>
/// The first lines an operator reads, once the server listens: what this node is wired to (its
/// addresses, store, auth mode, AI endpoint, Akka address and seeds), and a warning when Header
/// mode listens beyond loopback, where it believes whatever <c>X-User-Id</c> says.
/// </summary>
public sealed class StartupReport(
    AuthOptions auth,
    AiSettings ai,
    AiEndpointResolver aiEndpoint,
    AkkaNodeOptions node,
    StoreInfo store,
    ActorSystem system,
    IServer server,
    ILogger<StartupReport> logger) : IHostedLifecycleService
{
    private static readonly string Version =
        typeof(StartupReport).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public Task StartedAsync(CancellationToken cancellationToken)
    {
        var addresses = (server.Features.Get<IServerAddressesFeature>()?.Addresses ?? []).ToList();
        logger.LogInformation(
            "ImAkka {Version} listening on {Addresses}; store {Store}; auth mode {AuthMode}; AI {AiEndpoint} (model {AiModel}, stream {AiStream}, vision {AiVision}, " +
            "breaker after {AiBreakerFailures} failures for {AiBreakerResetSeconds} s); " +
            "Akka node {AkkaAddress}, seeds {Seeds}",
            Version, string.Join(", ", addresses), store, auth.AuthMode, aiEndpoint.Url, ai.Model, ai.Stream ? "on" : "off", ai.Vision ? "on" : "off",
            ai.BreakerFailures, ai.BreakerResetSeconds,
            Cluster.Get(system).SelfAddress, node.SeedNodes.Length == 0 ? "none (joins itself)" : string.Join(", ", node.SeedNodes));

        var exposed = addresses.Where(address => !IsLoopback(address)).ToList();
        if (!auth.UsesJwt && exposed.Count > 0)
            logger.LogWarning(
                "Auth__Mode=Header trusts the X-User-Id header of every request, and this server listens on {Addresses}: " +
                "anyone who can reach it can act as any user. Use Auth__Mode=Jwt beyond a development machine (README, Going to production)",
                string.Join(", ", exposed));
        return Task.CompletedTask;
    }

    private static bool IsLoopback(string address)
    {
        var host = address.Replace("://+", "://any", StringComparison.Ordinal).Replace("://*", "://any", StringComparison.Ordinal);
        if (!Uri.TryCreate(host, UriKind.Absolute, out var uri)) return false;
        return uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
