using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using Akka.TestKit;
using Im.Actors.Ops;
using Im.Actors.Tests.Support;
using Xunit.Abstractions;

namespace Im.Actors.Tests;

/// <summary>
/// The node's answer to <c>/api/ops/cluster</c>, with probes as its shard regions. Every message is
/// serialized, as the question and the answer cross the network between members.
/// </summary>
public sealed class NodeStatsActorSpecs : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan RegionTimeout = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    private readonly ImMetrics _metrics = new();
    private readonly TestProbe _groups;
    private readonly TestProbe _users;
    private readonly IActorRef _stats;

    public NodeStatsActorSpecs(ITestOutputHelper output)
        // Sharding's own serializer carries its stats messages, as it does between nodes.
        : base(ConfigurationFactory.ParseString(ActorSpecs.SerializingConfig).WithFallback(ClusterSharding.DefaultConfig()), output: output)
    {
        _groups = CreateTestProbe("group-region");
        _users = CreateTestProbe("user-region");
        _stats = Sys.ActorOf(NodeStatsActor.Props(_metrics, _groups.Ref, _users.Ref, RegionTimeout), NodeStatsActor.Name);
    }

    private static ShardRegionStats Region(params (string Shard, int Entities)[] shards) => new(
        shards.ToImmutableDictionary(s => s.Shard, s => s.Entities), ImmutableHashSet<string>.Empty);

    [Fact]
    public void Should_serialize_every_message() => Assert.True(Sys.Settings.SerializeAllMessages);

    [Fact]
    public async Task Should_answer_its_regions_shards_and_entities_and_its_own_sockets_and_ai_pool()
    {
        using var socket = _metrics.WebSocketOpened();
        _metrics.AiPool(inFlight: 2, queued: 5);
        var asker = CreateTestProbe();

        _stats.Tell(OpsQueries.GetNodeStats.Instance, asker.Ref);
        await _groups.ExpectMsgAsync<GetShardRegionStats>(Patience);
        _groups.Reply(Region(("3", 2), ("17", 1), ("40", 4)));
        await _users.ExpectMsgAsync<GetShardRegionStats>(Patience);
        _users.Reply(Region(("5", 9)));

        Assert.Equal(new NodeStats(GroupShards: 3, GroupEntities: 7, UserEntities: 9, Sessions: 1, AiInFlight: 2, AiQueued: 5, AiBreaker: "closed"),
            await asker.ExpectMsgAsync<NodeStats>(Patience));
    }

    [Fact]
    public async Task Should_count_a_shard_that_did_not_answer_as_hosted_with_its_entities_unknown()
    {
        var asker = CreateTestProbe();

        _stats.Tell(OpsQueries.GetNodeStats.Instance, asker.Ref);
        await _groups.ExpectMsgAsync<GetShardRegionStats>(Patience);
        _groups.Reply(new ShardRegionStats(ImmutableDictionary<string, int>.Empty.Add("1", 4), ImmutableHashSet.Create("2")));
        await _users.ExpectMsgAsync<GetShardRegionStats>(Patience);
        _users.Reply(Region());

        var stats = await asker.ExpectMsgAsync<NodeStats>(Patience);
        Assert.Equal((2, 4, 0), (stats.GroupShards, stats.GroupEntities, stats.UserEntities));
    }

    [Fact]
    public async Task Should_answer_the_rest_with_null_shard_figures_when_a_region_does_not_answer_in_time()
    {
        using var socket = _metrics.WebSocketOpened();
        var asker = CreateTestProbe();

        _stats.Tell(OpsQueries.GetNodeStats.Instance, asker.Ref);
        await _groups.ExpectMsgAsync<GetShardRegionStats>(Patience);
        await _users.ExpectMsgAsync<GetShardRegionStats>(Patience);
        _users.Reply(Region(("5", 1)));

        // The group region stays silent: the answer comes once its ask times out, not never.
        var stats = await asker.ExpectMsgAsync<NodeStats>(RegionTimeout + Patience);
        Assert.Equal((null, null, 1, 1), (stats.GroupShards, stats.GroupEntities, stats.UserEntities, stats.Sessions));
    }

    [Fact]
    public async Task Should_answer_by_its_path_as_a_remote_member_asks_it()
    {
        var answer = Sys.ActorSelection(new RootActorPath(((ExtendedActorSystem)Sys).Provider.DefaultAddress) / "user" / NodeStatsActor.Name)
            .Ask<NodeStats>(OpsQueries.GetNodeStats.Instance, Patience);
        await _groups.ExpectMsgAsync<GetShardRegionStats>(Patience);
        _groups.Reply(Region(("1", 1)));
        await _users.ExpectMsgAsync<GetShardRegionStats>(Patience);
        _users.Reply(Region());

        Assert.Equal(1, (await answer).GroupEntities);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) _metrics.Dispose();
    }
}
