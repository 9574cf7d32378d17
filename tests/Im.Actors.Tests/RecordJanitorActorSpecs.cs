using Im.Actors.Events;
using Akka.Cluster;
using Akka.TestKit;
using Im.Actors.Ai;
using Im.Actors.Groups;
using Im.Actors.Storage;
using Im.Actors.Tests.Support;
using Im.Contracts;
using Xunit.Abstractions;

namespace Im.Actors.Tests;

/// <summary>
/// The record janitor in a one-node cluster over a real store, with a probe as the group shard
/// region: it wakes the groups whose records are open on a node that is not a member, and only those.
/// </summary>
public sealed class RecordJanitorActorSpecs(GarnetStoreServer server, ITestOutputHelper output)
    : Akka.TestKit.Xunit2.TestKit("""
        akka.actor.provider = cluster
        akka.remote.dot-netty.tcp.hostname = 127.0.0.1
        akka.remote.dot-netty.tcp.port = 0
        akka.loglevel = WARNING
        """, output: output), IClassFixture<GarnetStoreServer>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private readonly ImStore _store = server.NewStore();

    private async Task Open(string groupId, string node) =>
        await _store.Append(new NewMessage(groupId, "patient", MessageTypes.Text, "q", ["patient"], null,
            new AiRecordChange.Open("http://ai", node, "stand-in", 20, AiModes.Auto)));

    [Fact]
    public async Task Should_wake_once_each_group_with_records_open_on_a_node_that_is_gone_when_this_node_comes_up()
    {
        var cluster = Cluster.Get(Sys);
        var groups = CreateTestProbe("groups");
        await Open("group_orphaned", "UniqueAddress: (akka.tcp://im@127.0.0.1:1, 42)");
        await Open("group_orphaned", "UniqueAddress: (akka.tcp://im@127.0.0.1:1, 42)");
        await Open("group_older_version", "");
        await Open("group_alive", cluster.SelfUniqueAddress.ToString());

        Sys.ActorOf(RecordJanitorActor.Props(_store, groups.Ref));
        await cluster.JoinAsync(cluster.SelfAddress);

        var woken = new[]
        {
            await groups.ExpectMsgAsync<GroupCommands.WakeForOrphanedRecords>(Wait),
            await groups.ExpectMsgAsync<GroupCommands.WakeForOrphanedRecords>(Wait),
        };
        Assert.Equal(["group_older_version", "group_orphaned"], woken.Select(w => w.GroupId).Order());
        await groups.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public async Task Should_wake_again_while_records_stay_open_and_stop_once_they_are_closed()
    {
        var cluster = Cluster.Get(Sys);
        var groups = CreateTestProbe("groups");
        await Open("group_lost_wake", "UniqueAddress: (akka.tcp://im@127.0.0.1:1, 42)");
        var recordId = Assert.Single(await _store.PendingRecordNodes()).RecordId;

        Sys.ActorOf(RecordJanitorActor.Props(_store, groups.Ref, recheckAfter: TimeSpan.FromMilliseconds(500)));
        await cluster.JoinAsync(cluster.SelfAddress);

        // Nobody closes the record (as if the wakes were lost): the janitor wakes the group again.
        for (var wake = 0; wake < 3; wake++)
            Assert.Equal("group_lost_wake", (await groups.ExpectMsgAsync<GroupCommands.WakeForOrphanedRecords>(Wait)).GroupId);

        Assert.True(await _store.CloseRecord(recordId, null, AiPipelineActor.Interrupted, null,
            new AiStateChanged("group_lost_wake", ["patient"], recordId, "message", AiStates.Failed, ErrorCodes.AiCallFailed)));
        // Closed well before the next look (half a second after the last wake): nothing more.
        await groups.ExpectNoMsgAsync(TimeSpan.FromSeconds(1.5));
    }
}
