using Im.Actors.Storage;
using Im.Actors.Tests.Support;
using Im.Contracts;
using StackExchange.Redis;

namespace Im.Actors.Tests;

/// <summary>
/// A store written by the key layout before the cluster one (keys without hash tags, as the previous
/// version wrote them) is read by this one after the move at start, and the move is done once.
/// </summary>
public abstract class KeyLayoutMigrationSpecs(StoreServer server)
{
    private const string Time = "2025-01-27T12:00:00";
    private readonly string _prefix = StoreServer.UniquePrefix();

    private IDatabase Db => server.Redis.GetDatabase();

    [Fact]
    public async Task Should_read_a_store_of_the_previous_layout_after_moving_it_once()
    {
        await WriteOldLayout();
        var store = StoreServer.NewStore(server.Redis, _prefix);

        var moved = await store.MigrateKeyLayout();

        Assert.Equal(4, moved["users"]); // two users and their group indexes
        Assert.Equal(2, moved["messages"]);
        Assert.Equal(1, moved["AI records"]);
        Assert.Equal("Cardiology", (await store.GetGroup("g1"))!.GroupName);
        Assert.Equal(["doctor", "patient"], (await store.GetMembers("g1")).Select(m => m.UserId));
        var history = await store.ListMessages("g1", new PageRequest(1, 20));
        Assert.Equal(2L, history.Total);
        Assert.Equal(["second", "first"], history.Messages.Select(m => m.MsgContent));
        Assert.Equal("first", (await store.GetMessage("m1"))!.MsgContent);
        Assert.Equal(("g1", AiRecordStatus.Pending), ((await store.GetRecord("r1"))!.GroupId, (await store.GetRecord("r1"))!.Status));
        Assert.Equal([("r1", "g1", "node-a")], await store.PendingRecordNodes());
        Assert.Equal(["r1"], (await store.LoadGroup("g1"))!.OpenRecords.Select(r => r.RecordId));
        Assert.True(await store.ShareAGroup("patient", "doctor"));
        Assert.Equal("g1", (await store.GetMedia("x1"))!.GroupId);
        Assert.Equal([1, 2, 3], await store.GetMediaBytes("x1"));
        Assert.NotNull(await Db.KeyTimeToLiveAsync(store.Keys.SentOnce("g1", "patient", "c-1")));
        Assert.Equal(UserRoles.Doctor, (await store.GetUser("doctor"))!.UserRole);
        await using (var keys = server.Redis.GetServers()[0].KeysAsync(pattern: _prefix + "*").GetAsyncEnumerator())
        {
            var left = new List<string>();
            while (await keys.MoveNextAsync()) left.Add(keys.Current.ToString()[_prefix.Length..]);
            Assert.DoesNotContain(left, k => k.StartsWith("msg:m", StringComparison.Ordinal) || k == "group:g1" || k == "records:pending"
                                             || k.EndsWith(":connections", StringComparison.Ordinal));
        }

        // What is stored next follows what was there: seq goes on, ids stay above the old ones.
        var next = await store.Append(new NewMessage("g1", "doctor", MessageTypes.Text, "third", ["doctor"], null, AiRecordChange.None));
        Assert.Equal((3L, true), (next.Value!.Message.Seq, next.Value.Message.Id > 2));
        Assert.Empty(await store.MigrateKeyLayout());
    }

    [Fact]
    public async Task Should_move_nothing_in_a_store_of_the_current_layout()
    {
        var store = StoreServer.NewStore(server.Redis, _prefix);
        await store.CreateUser("doctor", "d", UserRoles.Doctor);
        await store.CreateGroup("g1", "Cardiology", null, "doctor");

        Assert.Empty(await store.MigrateKeyLayout());
        Assert.Equal("Cardiology", (await store.GetGroup("g1"))!.GroupName);
    }

    /// <summary>A consultation as the previous version left it: two users, a group, two messages, a record still open, an image.</summary>
    private async Task WriteOldLayout()
    {
        var p = _prefix;
        await Db.HashSetAsync(p + "user:doctor", Fields(("id", "1"), ("user_id", "doctor"), ("username", "d"), ("user_role", UserRoles.Doctor),
            ("created_at", Time), ("updated_at", Time)));
        await Db.HashSetAsync(p + "user:patient", Fields(("id", "2"), ("user_id", "patient"), ("username", "p"), ("user_role", UserRoles.Patient),
            ("created_at", Time), ("updated_at", Time)));
        await Db.SetAddAsync(p + "user:doctor:groups", "g1");
        await Db.SetAddAsync(p + "user:patient:groups", "g1");
        await Db.HashSetAsync(p + "user:patient:connections", "node-a", 1);
        await Db.HashSetAsync(p + "node:node-a:connections", "patient", 1);
        await Db.SortedSetAddAsync(p + "nodes", "node-a", 1);
        await Db.HashSetAsync(p + "group:g1", Fields(("id", "1"), ("group_id", "g1"), ("group_name", "Cardiology"), ("created_by", "doctor"),
            ("created_at", Time), ("updated_at", Time), ("last_seq", "2"), ("member_seq", "2")));
        await Db.HashSetAsync(p + "group:g1:members", Fields(("doctor", $"1|{UserRoles.Doctor}|{Time}"), ("patient", $"2|{UserRoles.Patient}|{Time}")));
        foreach (var (id, seq, from, content) in new[] { ("m1", 1, "doctor", "first"), ("m2", 2, "patient", "second") })
        {
            await Db.HashSetAsync(p + "msg:" + id, Fields(("id", seq.ToString()), ("message_id", id), ("group_id", "g1"), ("from_user_id", from),
                ("msg_type", MessageTypes.Text), ("msg_content", content), ("seq", seq.ToString()), ("created_at", Time), ("updated_at", Time)));
            await Db.SortedSetAddAsync(p + "group:g1:messages", id, seq);
        }
        await Db.HashSetAsync(p + "record:r1", Fields(("id", "1"), ("record_id", "r1"), ("group_id", "g1"), ("user_message_id", "m2"),
            ("asked_by", "patient"), ("ai_service_url", "http://ai"), ("status", "0"), ("node", "node-a"), ("created_at", Time),
            ("updated_at", Time), ("attempts", "1"), ("context_from_seq", "1"), ("context_to_seq", "2")));
        await Db.SortedSetAddAsync(p + "group:g1:records", "r1", 1);
        await Db.SetAddAsync(p + "group:g1:records:open", "r1");
        await Db.SetAddAsync(p + "records:pending", "r1");
        await Db.StringSetAsync(p + "sent:g1:patient:c-1", new string('0', 64) + " m2", TimeSpan.FromHours(24));
        await Db.HashSetAsync(p + "media:x1", Fields(("media_id", "x1"), ("group_id", "g1"), ("uploaded_by", "patient"), ("content_type", "image/png"),
            ("size", "3"), ("width", "1"), ("height", "1"), ("sha256", "00"), ("created_at", Time)));
        await Db.StringSetAsync(p + "media:x1:bytes", new byte[] { 1, 2, 3 });
        await Db.StringSetAsync(p + "counter:msg", 2);
        await Db.StringSetAsync(p + "index:user-groups", Time);
    }

    private static HashEntry[] Fields(params (string Name, string Value)[] fields) => [.. fields.Select(f => new HashEntry(f.Name, f.Value))];
}

public sealed class RedisKeyLayoutMigrationSpecs(RedisStoreServer server) : KeyLayoutMigrationSpecs(server), IClassFixture<RedisStoreServer>;

public sealed class GarnetKeyLayoutMigrationSpecs(GarnetStoreServer server) : KeyLayoutMigrationSpecs(server), IClassFixture<GarnetStoreServer>;
