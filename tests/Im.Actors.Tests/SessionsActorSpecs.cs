using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.TestKit;
using Im.Actors.Connections;
using Im.Actors.Sessions;
using Im.Actors.Storage;
using Im.Actors.Tests.Support;
using Im.Contracts;
using Im.TestSupport;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Im.Actors.Tests;

/// <summary>
/// The node's sessions parent, its whole fan-out, over a real redis-server (whose <c>PUBSUB NUMSUB</c>
/// shows which channels it reads). Probes stand in for the sessions (each probe one device) and for the
/// connection registry; events are stored and published by the real store, as a group's writer does.
/// </summary>
public sealed class SessionsActorSpecs : Akka.TestKit.Xunit2.TestKit, IClassFixture<RedisStoreServer>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    private readonly RedisStoreServer _server;
    private readonly ImStore _store;
    private readonly TestProbe _connections;
    private readonly string _groupId = Ids.NewGroupId(DateTimeOffset.UtcNow);

    public SessionsActorSpecs(RedisStoreServer server, ITestOutputHelper output) : base(ActorSpecs.SerializingConfig, output: output)
    {
        _server = server;
        _store = server.NewStore();
        _connections = CreateTestProbe("connections");
    }

    private IActorRef StartSessions() =>
        Sys.ActorOf(SessionsActor.Props(_server.Redis,
            new SessionsSettings(_store, CreateTestProbe("groups").Ref, CreateTestProbe("queries").Ref, SendRateLimiter.Unlimited, new ImMetrics()), _connections.Ref));

    /// <summary>A device of <paramref name="userId"/>, registered: from here it is owed every push stored.</summary>
    private async Task<TestProbe> Connect(IActorRef sessions, string userId)
    {
        var device = CreateTestProbe();
        sessions.Tell(new SessionsProtocol.Register(userId, device.Ref));
        await device.ExpectMsgAsync<SessionsProtocol.Registered>(Wait);
        return device;
    }

    private async Task Group(string groupId, params string[] members)
    {
        foreach (var member in members) await _store.CreateUser(member, member, UserRoles.Patient);
        await _store.CreateGroup(groupId, "g", null, members[0]);
        foreach (var member in members.Skip(1)) await _store.AddMember(groupId, member, UserRoles.Patient);
    }

    private Task<Outcome<AppendedMessage>> Append(string groupId, string from, string content, IReadOnlyCollection<string> recipients,
        string? clientMsgId = null) =>
        _store.Append(new NewMessage(groupId, from, MessageTypes.Text, content, recipients, clientMsgId, AiRecordChange.None));

    private static async Task<List<JsonObject>> Frames(TestProbe device, int count)
    {
        var frames = new List<JsonObject>();
        for (var i = 0; i < count; i++)
        {
            var push = await device.ExpectMsgAsync<SessionsProtocol.Push>(Wait);
            var frame = JsonNode.Parse(push.Frame)!.AsObject();
            Assert.Equal(push.Event.Seq, (long)frame["seq"]!);
            frames.Add(frame);
        }
        return frames;
    }

    private static IEnumerable<long> Seqs(IEnumerable<JsonObject> frames) => frames.Select(frame => (long)frame["seq"]!);

    private Task<long> Subscribers(RedisChannel channel) =>
        _server.Redis.GetServer(_server.Redis.GetEndPoints()[0]).SubscriptionSubscriberCountAsync(channel);

    [Fact]
    public async Task Should_push_a_groups_messages_to_every_device_of_each_recipient_once_and_in_seq_order()
    {
        await Group(_groupId, "alice", "bob");
        var sessions = StartSessions();
        var alicePhone = await Connect(sessions, "alice");
        var aliceLaptop = await Connect(sessions, "alice");
        var bob = await Connect(sessions, "bob");

        var sends = Enumerable.Range(1, 30).Select(i => Append(_groupId, "alice", $"m{i}", ["alice", "bob"], clientMsgId: $"c{i}")).ToList();
        await Task.WhenAll(sends);

        var expected = Enumerable.Range(1, 30).Select(i => (long)i).ToList();
        foreach (var device in new[] { alicePhone, aliceLaptop, bob })
        {
            var frames = await Frames(device, 30);
            Assert.Equal(expected, Seqs(frames));
            Assert.All(frames, frame => Assert.Equal("message_sent", (string?)frame["type"]));
            // The sender's own devices see their client_msg_id; the others never do.
            Assert.All(frames, frame => Assert.Equal(device != bob, frame.ContainsKey("client_msg_id")));
            await device.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
        }
    }

    [Fact]
    public async Task Should_read_only_the_channels_its_users_need_and_leave_them_with_the_last_device()
    {
        var otherGroup = Ids.NewGroupId(DateTimeOffset.UtcNow) + "x";
        await Group(_groupId, "alice", "bob");
        await Group(otherGroup, "carol", "dave");
        var sessions = StartSessions();
        var phone = await Connect(sessions, "alice");
        var laptop = await Connect(sessions, "alice");

        Assert.Equal(1, await Subscribers(_store.Keys.GroupEvents(_groupId)));
        Assert.Equal(1, await Subscribers(_store.Keys.UserEvents("alice")));
        Assert.Equal(0, await Subscribers(_store.Keys.GroupEvents(otherGroup)));
        Assert.Equal(0, await Subscribers(_store.Keys.UserEvents("bob")));

        Sys.Stop(phone.Ref);
        await Append(_groupId, "bob", "still here", ["alice", "bob"]);
        Assert.Equal(1L, (await Frames(laptop, 1)).Select(frame => (long)frame["seq"]!).Single());
        Assert.Equal(1, await Subscribers(_store.Keys.GroupEvents(_groupId)));

        Sys.Stop(laptop.Ref);
        await Eventually.True(async () => await Subscribers(_store.Keys.GroupEvents(_groupId)) == 0
            && await Subscribers(_store.Keys.UserEvents("alice")) == 0, Wait, "the channels left with alice's last device");
    }

    [Fact]
    public async Task Should_tell_the_connection_registry_of_each_device_that_connects_and_ends()
    {
        await Group(_groupId, "alice", "bob");
        var sessions = StartSessions();

        var phone = await Connect(sessions, "alice");
        Assert.Equal("alice", (await _connections.ExpectMsgAsync<ConnectionRegistry.Opened>(Wait)).UserId);
        var laptop = await Connect(sessions, "alice");
        Assert.Equal("alice", (await _connections.ExpectMsgAsync<ConnectionRegistry.Opened>(Wait)).UserId);
        Sys.Stop(phone.Ref);
        Assert.Equal("alice", (await _connections.ExpectMsgAsync<ConnectionRegistry.Closed>(Wait)).UserId);
        await _connections.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
        Sys.Stop(laptop.Ref);
        Assert.Equal("alice", (await _connections.ExpectMsgAsync<ConnectionRegistry.Closed>(Wait)).UserId);
    }

    [Fact]
    public async Task Should_give_a_user_who_joins_an_unread_group_what_is_stored_after_the_join_once_and_in_order()
    {
        await Group(_groupId, "bob");
        await _store.CreateUser("alice", "alice", UserRoles.Patient);
        for (var i = 1; i <= 5; i++) await Append(_groupId, "bob", $"before {i}", ["bob"]);
        var sessions = StartSessions();
        var alice = await Connect(sessions, "alice");
        Assert.Equal(0, await Subscribers(_store.Keys.GroupEvents(_groupId)));

        // Stored while the node has only just heard of the join: some before it reads the group, some after.
        await _store.AddMember(_groupId, "alice", UserRoles.Patient);
        for (var i = 6; i <= 25; i++) await Append(_groupId, "bob", $"after {i}", ["bob", "alice"]);

        Assert.Equal(Enumerable.Range(6, 20).Select(i => (long)i), Seqs(await Frames(alice, 20)));
        await alice.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task Should_lose_nothing_stored_after_a_device_registers_while_its_group_sends()
    {
        await Group(_groupId, "alice", "bob");
        var sessions = StartSessions();
        var phone = await Connect(sessions, "alice");
        const int total = 200;
        var sending = Task.Run(async () =>
        {
            for (var i = 1; i <= total; i++) await Append(_groupId, "bob", $"m{i}", ["alice", "bob"]);
        });

        await Eventually.True(async () => (await _store.GetGroup(_groupId)) is not null
            && (await _store.ListMessages(_groupId, new PageRequest(1, 1))).Total >= 20, Wait, "the group sending");
        var laptop = await Connect(sessions, "alice");
        var storedBeforeRegistered = (await _store.ListMessages(_groupId, new PageRequest(1, 1))).Total;
        await sending;

        Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), Seqs(await Frames(phone, total)));
        var laptopSeqs = new List<long>();
        while (laptopSeqs.LastOrDefault() < total) laptopSeqs.Add(Seqs(await Frames(laptop, 1)).Single());
        // What the laptop gets is one run of seq, with nothing missing from before its registration ended on.
        Assert.Equal(Enumerable.Range((int)laptopSeqs[0], laptopSeqs.Count).Select(i => (long)i), laptopSeqs);
        Assert.True(laptopSeqs[0] <= storedBeforeRegistered + 1, $"the laptop's first push is {laptopSeqs[0]}, after {storedBeforeRegistered} stored");
        await laptop.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task Should_stop_reading_a_group_its_only_local_member_left()
    {
        await Group(_groupId, "alice", "bob");
        var sessions = StartSessions();
        var alice = await Connect(sessions, "alice");
        Assert.Equal(1, await Subscribers(_store.Keys.GroupEvents(_groupId)));

        await _store.RemoveMember(_groupId, "alice");

        await Eventually.True(async () => await Subscribers(_store.Keys.GroupEvents(_groupId)) == 0, Wait, "the group's channel left");
        await Append(_groupId, "bob", "after she left", ["bob"]);
        await alice.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
    }
}
