using Akka.Actor;
using Akka.Cluster.Sharding;

namespace Im.Actors.Ops;

public static class OpsQueries
{
    /// <summary>Asked of every member's <see cref="NodeStatsActor"/>, across the network, for <c>/api/ops/cluster</c>.</summary>
    public sealed record GetNodeStats
    {
        public static readonly GetNodeStats Instance = new();
    }
}

/// <summary>
/// One member's own figures. The shard figures are null when its shard region did not answer in time
/// (it has not reached its coordinator yet, or it is shutting down).
/// </summary>
public sealed record NodeStats(
    int? GroupShards,
    int? GroupEntities,
    int? UserEntities,
    int Sessions,
    int AiInFlight,
    int AiQueued,
    string AiBreaker);

/// <summary>
/// One per node at <c>/user/ops</c>: answers what only this node knows, its shards and entities
/// (its own shard regions' <c>GetShardRegionStats</c>) and its sockets and AI pool (<see cref="ImMetrics"/>).
/// Each member is asked separately rather than through Akka's <c>GetClusterShardingStats</c>: the
/// coordinator answers that with an empty map as soon as one region fails to reply, which is every
/// time a node has just died, the moment an operator looks. Never blocks: the answer is piped back.
/// </summary>
public sealed class NodeStatsActor : ReceiveActor
{
    public const string Name = "ops";

    public NodeStatsActor(ImMetrics metrics, IActorRef groupRegion, IActorRef userRegion, TimeSpan regionTimeout)
    {
        Receive<OpsQueries.GetNodeStats>(_ => Gather(metrics, groupRegion, userRegion, regionTimeout).PipeTo(Sender));
    }

    public static Props Props(ImMetrics metrics, IActorRef groupRegion, IActorRef userRegion, TimeSpan regionTimeout) =>
        Akka.Actor.Props.Create(() => new NodeStatsActor(metrics, groupRegion, userRegion, regionTimeout));

    private static async Task<NodeStats> Gather(ImMetrics metrics, IActorRef groupRegion, IActorRef userRegion, TimeSpan timeout)
    {
        var groups = RegionStats(groupRegion, timeout);
        var users = RegionStats(userRegion, timeout);
        await Task.WhenAll(groups, users);
        var (g, u) = (await groups, await users);
        return new NodeStats(
            // A shard that did not answer in time is still hosted here; only its entities are unknown.
            g is null ? null : g.Stats.Count + g.Failed.Count,
            g?.Stats.Values.Sum(),
            u?.Stats.Values.Sum(),
            (int)metrics.WebSocketConnections,
            (int)metrics.AiCallsInFlight,
            (int)metrics.AiQueueLength,
            metrics.AiBreaker);
    }

    private static async Task<ShardRegionStats?> RegionStats(IActorRef region, TimeSpan timeout)
    {
        try
        {
            return await region.Ask<ShardRegionStats>(GetShardRegionStats.Instance, timeout);
        }
        catch (AskTimeoutException)
        {
            return null;
        }
    }
}
