using System.Diagnostics;
using StackExchange.Redis;

namespace Im.TestSupport;

/// <summary>
/// A real Redis Cluster of three masters and no replicas: three <c>redis-server --cluster-enabled yes</c>
/// on free loopback ports, joined with <c>redis-cli --cluster create</c> (Debian's redis 7.0 has both);
/// stopped and removed on dispose.
/// </summary>
public sealed class RedisCluster : IAsyncDisposable
{
    private readonly RedisServer[] _nodes;

    private RedisCluster(RedisServer[] nodes) => _nodes = nodes;

    /// <summary>Every node, as a client lists a cluster's seeds.</summary>
    public string ConnectionString => string.Join(',', _nodes.Select(n => n.ConnectionString));

    public static async Task<RedisCluster> Start()
    {
        var nodes = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ =>
            RedisServer.Start("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000")));
        var cluster = new RedisCluster(nodes);
        try
        {
            await cluster.Create();
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
        return cluster;
    }

    private async Task Create()
    {
        var cli = new[] { "/usr/bin/redis-cli", "/usr/local/bin/redis-cli" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("redis-cli is not installed; it comes with Debian's redis-server (apt-get install redis-server)");
        var create = new ProcessStartInfo(cli) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "--cluster", "create" }.Concat(_nodes.Select(n => n.ConnectionString))
                     .Concat(["--cluster-replicas", "0", "--cluster-yes"]))
            create.ArgumentList.Add(argument);
        using var process = Process.Start(create)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"redis-cli --cluster create exited with {process.ExitCode}:\n{await output}\n{await errors}");
        // Every node must see every slot served before a client can rely on the cluster.
        await Eventually.True(async () =>
        {
            foreach (var node in _nodes)
            {
                await using var probe = await ConnectionMultiplexer.ConnectAsync(node.ConnectionString + ",connectTimeout=500");
                var info = (string?)await probe.GetServer(node.ConnectionString).ExecuteAsync("CLUSTER", "INFO");
                if (info is null || !info.Contains("cluster_state:ok", StringComparison.Ordinal)) return false;
            }
            return true;
        }, TimeSpan.FromSeconds(30), "the Redis Cluster's state to be ok on every node");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes) await node.DisposeAsync();
    }
}
