using System.Globalization;
using StackExchange.Redis;

namespace Im.Actors.Storage;

/// <summary>
/// Who is connected where, across the cluster: for each user the open sockets per node
/// (<c>user:{id}:connections</c>, node → count), and for each node the same by user
/// (<c>node:{id}:connections</c>), so that when a node is gone the survivors find its entries and
/// clear them. Every node's heartbeat is in <c>nodes</c>. Each count is changed by a script on its
/// own key, so no two keys of different users or nodes are ever in one step.
/// </summary>
public sealed class ConnectionStore(IConnectionMultiplexer redis, StoreKeys keys, TimeProvider clock)
{
    private IDatabase Db => redis.GetDatabase();

    // KEYS: a hash of counts. ARGV: field, change. A count that reaches 0 is removed. Returns the new count.
    private const string ChangeCount = """
        local count = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
        if count <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) return 0 end
        return count
        """;

    public Task Opened(string userId, string node) => Change(userId, node, +1);

    public Task Closed(string userId, string node) => Change(userId, node, -1);

    private Task Change(string userId, string node, int by)
    {
        // Sent in this order on one connection: the node's entry first, so a crash between the two
        // leaves nothing its survivors cannot find.
        var byNode = Db.ScriptEvaluateAsync(ChangeCount, [keys.NodeConnections(node)], [userId, by]);
        var byUser = Db.ScriptEvaluateAsync(ChangeCount, [keys.UserConnections(userId)], [node, by]);
        return Task.WhenAll(byNode, byUser);
    }

    /// <summary>Writes a node's whole view again (after the survivors took it for gone); replaces what it had.</summary>
    public async Task Restore(string node, IReadOnlyDictionary<string, int> countsByUser)
    {
        await Clear(node);
        var writes = new List<Task>();
        foreach (var (userId, count) in countsByUser)
        {
            writes.Add(Db.HashSetAsync(keys.NodeConnections(node), userId, count));
            writes.Add(Db.HashSetAsync(keys.UserConnections(userId), node, count));
        }
        writes.Add(Heartbeat(node));
        await Task.WhenAll(writes);
    }

    /// <summary>Says the node is alive; true when it was not listed (it is new, or the survivors had cleared it).</summary>
    public Task<bool> Heartbeat(string node) => Db.SortedSetAddAsync(keys.Nodes, node, clock.GetUtcNow().ToUnixTimeMilliseconds());

    /// <summary>The nodes whose last heartbeat is older than <paramref name="silentFor"/>.</summary>
    public async Task<IReadOnlyList<string>> SilentNodes(TimeSpan silentFor) =>
        [.. (await Db.SortedSetRangeByScoreAsync(keys.Nodes, double.NegativeInfinity,
            (clock.GetUtcNow() - silentFor).ToUnixTimeMilliseconds())).Select(node => (string)node!)];

    /// <summary>Removes every entry of a node that is gone; the number of users it had sockets of.</summary>
    public async Task<int> Clear(string node)
    {
        var users = await Db.HashKeysAsync(keys.NodeConnections(node));
        await Task.WhenAll(users.Select(userId => Db.HashDeleteAsync(keys.UserConnections((string)userId!), node)));
        await Db.KeyDeleteAsync(keys.NodeConnections(node));
        await Db.SortedSetRemoveAsync(keys.Nodes, node);
        return users.Length;
    }

    /// <summary>The user's open sockets, per node.</summary>
    public async Task<IReadOnlyList<(string Node, int Devices)>> Of(string userId) =>
        [.. (await Db.HashGetAllAsync(keys.UserConnections(userId)))
            .Select(entry => ((string)entry.Name!, int.Parse((string)entry.Value!, CultureInfo.InvariantCulture)))
            .Where(entry => entry.Item2 > 0)
            .OrderBy(entry => entry.Item1, StringComparer.Ordinal)];
}
