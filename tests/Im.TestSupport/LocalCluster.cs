using System.Globalization;

namespace Im.TestSupport;

/// <summary>
/// A real redis-server and N Im.Host processes on loopback, clustered through seed nodes (the
/// first two). Node 0 starts first and is therefore the oldest member.
/// </summary>
public sealed class LocalCluster : IAsyncDisposable
{
    private LocalCluster(RedisServer redis, List<HostProcess> nodes)
    {
        Redis = redis;
        Nodes = nodes;
    }

    public RedisServer Redis { get; }
    public List<HostProcess> Nodes { get; }

    public static async Task<LocalCluster> Start(int count, IDictionary<string, string>? settings = null)
    {
        var redis = await RedisServer.Start();
        // Ascending, so node 0 is the oldest by every ordering Akka uses, and stays so as the others join.
        var akkaPorts = Enumerable.Range(0, count).Select(_ => Ports.FreeLoopbackPort()).Order().ToList();
        var prefix = $"c{Guid.NewGuid():N}"[..12] + ":";
        Dictionary<string, string> Environment(int index)
        {
            var environment = new Dictionary<string, string>(settings ?? new Dictionary<string, string>())
            {
                ["ConnectionStrings__Redis"] = redis.ConnectionString,
                ["Redis__KeyPrefix"] = prefix,
                ["Akka__Hostname"] = "127.0.0.1",
                ["Akka__Port"] = akkaPorts[index].ToString(CultureInfo.InvariantCulture),
                // Between processes every message is serialized for real. Forcing it on local
                // messages too breaks the cluster's own events (a Member's up-number does not survive
                // the JSON round trip), so nodes disagree on the oldest member and singletons stall.
                ["Akka__SerializeMessages"] = "false",
            };
            for (var seed = 0; seed < Math.Min(2, count); seed++)
                environment[$"Akka__SeedNodes__{seed}"] = $"akka.tcp://im@127.0.0.1:{akkaPorts[seed]}";
            return environment;
        }

        var nodes = new List<HostProcess> { await HostProcess.Start(Environment(0)) };
        nodes.AddRange(await Task.WhenAll(Enumerable.Range(1, count - 1).Select(i => HostProcess.Start(Environment(i)))));
        return new LocalCluster(redis, nodes);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes) await node.Kill();
        foreach (var node in Nodes) await node.DisposeAsync();
        await Redis.DisposeAsync();
    }
}
