using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Im.Host.Config;

/// <summary>
/// Header mode believes whatever <c>X-User-Id</c> says: fine on a developer's loopback, not where
/// anyone else can connect. Says so once the server listens, if it listens beyond loopback.
/// </summary>
public sealed class HeaderModeWarning(AuthOptions auth, IServer server, ILogger<HeaderModeWarning> logger) : IHostedLifecycleService
{
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        if (auth.UsesJwt) return Task.CompletedTask;
        var exposed = (server.Features.Get<IServerAddressesFeature>()?.Addresses ?? []).Where(address => !IsLoopback(address)).ToList();
        if (exposed.Count > 0)
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
