using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Im.Actors.Events;
using Im.Actors.Storage;
using Im.Actors.Tests.Support;
using Im.Contracts;
using StackExchange.Redis;

namespace Im.Actors.Tests;

/// <summary>
/// The store's behaviour, specified once and run against every server it must work with: Debian's
/// redis-server, a Redis Cluster of three of them, and the embedded Garnet. Each test uses a key
/// prefix of its own.
/// </summary>
public abstract class StoreSpecs(StoreServer server)
{
    private static readonly DateTimeOffset Start = new(2025, 1, 27, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan EventWait = TimeSpan.FromSeconds(10);

    private readonly ManualClock _clock = new(Start);
    private readonly string _prefix = StoreServer.UniquePrefix();

    private ImStore NewStore() => StoreServer.NewStore(server.Redis, _prefix, _clock);

    private static NewMessage Text(string groupId, string from, string content, AiRecordChange? ai = null, string? clientMsgId = null,
        IReadOnlyCollection<string>? recipients = null) =>
        new(groupId, from, MessageTypes.Text, content, recipients ?? [from], clientMsgId, ai ?? AiRecordChange.None);

    /// <summary>A patient's message opens a record; the context is the last five messages.</summary>
    private static AiRecordChange.Open OpenRecord(string url) => new(url, "node-1", "stand-in", 5, AiModes.Auto);

    /// <summary>Closes a record without a reply, whichever attempt is open.</summary>
    private static Task<bool> Close(ImStore store, string recordId, string errorMessage, long? durationMs) =>
        store.CloseRecord(recordId, null, errorMessage, durationMs,
            new AiStateChanged("group_1", ["patient"], recordId, "msg", AiStates.Failed, errorMessage[..4]));

    /// <summary>An append that must store: no conflict, no replay.</summary>
    private static async Task<AppendedMessage> Append(ImStore store, NewMessage message)
    {
        var appended = await store.Append(message);
        Assert.Null(appended.Error);
        Assert.False(appended.Value!.Replayed);
        return appended.Value;
    }

    private static async Task<ImStore> WithGroup(ImStore store, string groupId = "group_1", string creator = "doctor")
    {
        await store.CreateUser(creator, "Dr. " + creator, UserRoles.Doctor);
        Assert.NotNull(await store.CreateGroup(groupId, "Cardiology", null, creator));
        return store;
    }

    // ---- users ----

    [Fact]
    public async Task Should_create_and_get_a_user()
    {
        var store = NewStore();

        var created = await store.CreateUser("user_a", "张三", UserRoles.Patient);
        var second = await store.CreateUser("user_b", "李四", UserRoles.Doctor);

        Assert.Equal(new UserResponse(1, "user_a", "张三", UserRoles.Patient, "2025-01-27T12:00:00", "2025-01-27T12:00:00"), created);
        Assert.Equal(2, second!.Id);
        Assert.Equal(created, await store.GetUser("user_a"));
        Assert.True(await store.UserExists("user_a"));
        Assert.False(await store.UserExists("user_c"));
        Assert.Null(await store.GetUser("user_c"));
    }

    [Fact]
    public async Task Should_refuse_to_create_a_user_twice()
    {
        var store = NewStore();
        var first = await store.CreateUser("user_a", "first", UserRoles.Patient);

        Assert.Null(await store.CreateUser("user_a", "second", UserRoles.Doctor));
        Assert.Equal(first, await store.GetUser("user_a"));
    }

    [Fact]
    public async Task Should_update_role_and_updated_at()
    {
        var store = NewStore();
        await store.CreateUser("user_a", "张三", UserRoles.Patient);
        _clock.Advance(TimeSpan.FromSeconds(90));

        var updated = await store.UpdateUserRole("user_a", UserRoles.Doctor);

        var expected = new UserResponse(1, "user_a", "张三", UserRoles.Doctor, "2025-01-27T12:00:00", "2025-01-27T12:01:30");
        Assert.Equal(expected, updated);
        Assert.Equal(expected, await store.GetUser("user_a"));
    }

    [Fact]
    public async Task Should_return_null_when_updating_an_unknown_user()
    {
        var store = NewStore();

        Assert.Null(await store.UpdateUserRole("nobody", UserRoles.Doctor));
        Assert.False(await store.UserExists("nobody"));
    }

    [Fact]
    public async Task Should_create_the_ai_assistant_only_once()
    {
        var store = NewStore();
        await store.EnsureUser("ai_assistant_001", "AI", UserRoles.AiAssistant);
        _clock.Advance(TimeSpan.FromMinutes(1));
        await store.EnsureUser("ai_assistant_001", "other", UserRoles.AiAssistant);

        var user = await store.GetUser("ai_assistant_001");
        Assert.Equal(("AI", 1L, "2025-01-27T12:00:00"), (user!.Username, user.Id, user.CreatedAt));
    }

    // ---- groups and members ----

    [Fact]
    public async Task Should_create_a_group_with_its_creator_as_doctor()
    {
        var store = NewStore();
        await store.CreateUser("creator", "Dr. Wang", UserRoles.Patient);

        var group = await store.CreateGroup("group_1", "心内科", null, "creator");

        var expected = new GroupResponse(1, "group_1", "心内科", null, "creator", "2025-01-27T12:00:00", "2025-01-27T12:00:00");
        Assert.Equal(expected, group);
        Assert.Equal(expected, await store.GetGroup("group_1"));
        Assert.Equal([new MemberResponse("creator", UserRoles.Doctor, "2025-01-27T12:00:00")], await store.GetMembers("group_1"));
        var snapshot = await store.LoadGroup("group_1");
        Assert.Equal(expected, snapshot!.Group);
        Assert.Equal(UserRoles.Doctor, Assert.Single(snapshot.MemberRoles).Value);
    }

    [Fact]
    public async Task Should_keep_a_description_apart_from_no_description()
    {
        var store = NewStore();

        await store.CreateGroup("with", "g", "描述 😀", "creator");
        await store.CreateGroup("empty", "g", "", "creator");
        await store.CreateGroup("none", "g", null, "creator");

        Assert.Equal("描述 😀", (await store.GetGroup("with"))!.Description);
        Assert.Equal("", (await store.GetGroup("empty"))!.Description);
        Assert.Null((await store.GetGroup("none"))!.Description);
    }

    [Fact]
    public async Task Should_refuse_to_create_a_group_twice()
    {
        var store = NewStore();
        var first = await store.CreateGroup("group_1", "first", null, "a");

        Assert.Null(await store.CreateGroup("group_1", "second", "d", "b"));
        Assert.Equal(first, await store.GetGroup("group_1"));
        Assert.Equal(["a"], (await store.GetMembers("group_1")).Select(m => m.UserId));
    }

    [Fact]
    public async Task Should_leave_no_keys_behind_when_reading_an_unknown_group()
    {
        var store = NewStore();

        Assert.Null(await store.GetGroup("ghost"));
        Assert.Null(await store.LoadGroup("ghost"));
        Assert.Empty(await store.GetMembers("ghost"));
        Assert.Equal(0, (await store.ListMessages("ghost", new PageRequest(1, 20))).Total);
        Assert.Equal(AddMemberResult.NoGroup, await store.AddMember("ghost", "user_a", UserRoles.Patient));

        var db = server.Redis.GetDatabase();
        Assert.False(await store.GroupExists("ghost"));
        Assert.False(await db.KeyExistsAsync(store.Keys.GroupMembers("ghost")));
        Assert.False(await db.KeyExistsAsync(store.Keys.GroupMessages("ghost")));
    }

    [Fact]
    public async Task Should_add_a_member_once()
    {
        var store = await WithGroup(NewStore());

        Assert.Equal(AddMemberResult.Added, await store.AddMember("group_1", "patient", UserRoles.Patient));
        Assert.Equal(AddMemberResult.AlreadyMember, await store.AddMember("group_1", "patient", UserRoles.Doctor));
        Assert.Equal(AddMemberResult.AlreadyMember, await store.AddMember("group_1", "doctor", UserRoles.Patient));

        var members = await store.GetMembers("group_1");
        Assert.Equal([("doctor", UserRoles.Doctor), ("patient", UserRoles.Patient)], members.Select(m => (m.UserId, m.UserRole)));
        Assert.Equal(UserRoles.Patient, (await store.LoadGroup("group_1"))!.MemberRoles["patient"]);
    }

    [Fact]
    public async Task Should_list_members_in_join_order()
    {
        var store = await WithGroup(NewStore(), creator: "m00");
        // Names sort differently from join order; most join in the same second, so only the order breaks ties.
        string[] joining = ["zeta", "alpha", "m10", "beta", "m02", "yak", "gamma", "m01", "omega", "delta", "kappa", "b"];
        foreach (var (user, index) in joining.Select((u, i) => (u, i)))
        {
            if (index == 6) _clock.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal(AddMemberResult.Added, await store.AddMember("group_1", user, index % 2 == 0 ? UserRoles.Patient : UserRoles.Doctor));
        }

        var members = await store.GetMembers("group_1");

        Assert.Equal(["m00", .. joining], members.Select(m => m.UserId));
        Assert.Equal("2025-01-27T12:00:00", members[6].JoinedAt);
        Assert.Equal("2025-01-27T12:00:01", members[7].JoinedAt);
        Assert.Equal(UserRoles.Patient, members[1].UserRole);
        Assert.Equal(UserRoles.Doctor, members[2].UserRole);
    }

    // ---- messages ----

    [Fact]
    public async Task Should_number_messages_1_2_3_with_increasing_ids()
    {
        var store = await WithGroup(NewStore());

        var appended = new List<MessageResponse>();
        for (var i = 1; i <= 5; i++) appended.Add((await Append(store, Text("group_1", "doctor", $"m{i}"))).Message);

        Assert.Equal([1L, 2, 3, 4, 5], appended.Select(m => m.Seq));
        Assert.All(appended.Zip(appended.Skip(1)), pair => Assert.True(pair.Second.Id > pair.First.Id));
        Assert.Equal(appended.Select(m => m.MessageId).Distinct().Count(), appended.Count);
        Assert.All(appended, m => Assert.Matches("^msg_20250127120000_[a-z0-9]{8}$", m.MessageId));
        Assert.Equal(appended[2], await store.GetMessage(appended[2].MessageId));
    }

    [Fact]
    public async Task Should_keep_seq_per_group_and_id_global()
    {
        var store = await WithGroup(NewStore(), "group_a");
        Assert.NotNull(await store.CreateGroup("group_b", "other", null, "doctor"));

        var a1 = (await Append(store, Text("group_a", "doctor", "a1"))).Message;
        var b1 = (await Append(store, Text("group_b", "doctor", "b1"))).Message;
        var a2 = (await Append(store, Text("group_a", "doctor", "a2"))).Message;

        Assert.Equal((1L, 1L, 2L), (a1.Seq, b1.Seq, a2.Seq));
        Assert.True(a1.Id < b1.Id && b1.Id < a2.Id);
    }

    [Fact]
    public async Task Should_store_a_message_as_given()
    {
        var store = await WithGroup(NewStore());
        var content = "第一行\n\"quoted\" \\ 😀 " + new string('x', 4000);

        var message = (await Append(store, Text("group_1", "doctor", content))).Message;

        var read = await store.GetMessage(message.MessageId);
        Assert.Equal(new MessageResponse(message.Id, message.MessageId, "group_1", "doctor", MessageTypes.Text, content, 1,
            "2025-01-27T12:00:00", "2025-01-27T12:00:00"), read);
        Assert.Null(await store.GetMessage("msg_unknown"));
    }

    [Fact]
    public async Task Should_list_messages_newest_first_in_pages()
    {
        var store = await WithGroup(NewStore());
        for (var i = 1; i <= 25; i++) await Append(store, Text("group_1", "doctor", $"m{i}"));

        var first = await store.ListMessages("group_1", new PageRequest(1, 10));
        var last = await store.ListMessages("group_1", new PageRequest(3, 10));
        var past = await store.ListMessages("group_1", new PageRequest(4, 10));
        var all = await store.ListMessages("group_1", new PageRequest(1, 100));

        Assert.Equal(Enumerable.Range(16, 10).Reverse().Select(i => (long)i), first.Messages.Select(m => m.Seq));
        Assert.Equal(["m25", "m24"], first.Messages.Take(2).Select(m => m.MsgContent));
        Assert.Equal([5L, 4, 3, 2, 1], last.Messages.Select(m => m.Seq));
        Assert.Empty(past.Messages);
        Assert.Equal((25L, 25L, 25L), (first.Total, last.Total, past.Total));
        Assert.Equal(Enumerable.Range(1, 25).Reverse().Select(i => (long)i), all.Messages.Select(m => m.Seq));
    }

    [Fact]
    public async Task Should_give_the_messages_of_a_seq_range_oldest_first()
    {
        var store = await WithGroup(NewStore());
        for (var i = 1; i <= 10; i++) await Append(store, Text("group_1", "doctor", $"m{i}"));

        var context = await store.MessagesInRange("group_1", 5, 7);
        var fromTheStart = await store.MessagesInRange("group_1", 1, 2);

        Assert.Equal([5L, 6, 7], context.Select(m => m.Seq));
        Assert.Equal(["m5", "m6", "m7"], context.Select(m => m.MsgContent));
        Assert.Equal([1L, 2], fromTheStart.Select(m => m.Seq));
        Assert.Empty(await store.MessagesInRange("other_group", 1, 5));
    }

    // ---- images ----

    private static NewMessage ImageMessage(string groupId, string from, MediaInfo media, string? clientMsgId = null) =>
        new(groupId, from, MessageTypes.Image, media.MediaId, [from], clientMsgId, AiRecordChange.None, media);

    private static Task<MediaResponse> StoreImage(ImStore store, byte[] bytes, string groupId = "group_1") =>
        store.StoreMedia(groupId, "doctor", MediaTypes.Jpeg, bytes, 48, 64, Convert.ToHexStringLower(SHA256.HashData(bytes)));

    [Fact]
    public async Task Should_store_an_image_and_give_back_its_record_and_its_bytes()
    {
        var store = await WithGroup(NewStore());
        // Every byte value, in as many bytes as the largest upload may have (5 MiB).
        byte[] bytes = [.. Enumerable.Range(0, 256).Select(i => (byte)i), .. RandomNumberGenerator.GetBytes(5 * 1024 * 1024 - 256)];
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));

        var media = await store.StoreMedia("group_1", "doctor", MediaTypes.Png, bytes, 640, 480, sha256);
        var other = await StoreImage(store, [1, 2, 3]);

        Assert.Matches("^media_20250127120000_[a-z0-9]{8}$", media.MediaId);
        Assert.Equal(new MediaResponse(media.MediaId, "group_1", MediaTypes.Png, bytes.Length, 640, 480, sha256, "2025-01-27T12:00:00"), media);
        Assert.Equal(media, await store.GetMedia(media.MediaId));
        Assert.Equal(bytes, await store.GetMediaBytes(media.MediaId));
        Assert.NotEqual(media.MediaId, other.MediaId);
        Assert.Equal(other, await store.GetMedia(other.MediaId));
        Assert.Equal([1, 2, 3], await store.GetMediaBytes(other.MediaId));
        Assert.Equal(new MediaInfo(media.MediaId, MediaTypes.Png, bytes.Length, 640, 480, "/api/media/" + media.MediaId), media.Info);
    }

    [Fact]
    public async Task Should_give_no_image_for_an_unknown_media_id()
    {
        var store = NewStore();

        Assert.Null(await store.GetMedia("media_unknown"));
        Assert.Null(await store.GetMediaBytes("media_unknown"));
    }

    [Fact]
    public async Task Should_read_an_image_message_back_with_its_media_and_a_text_message_without()
    {
        var store = await WithGroup(NewStore());
        var media = (await StoreImage(store, [1, 2, 3])).Info;
        var text = (await Append(store, Text("group_1", "doctor", "before"))).Message;

        var image = (await Append(store, ImageMessage("group_1", "doctor", media))).Message;

        var expected = new MessageResponse(image.Id, image.MessageId, "group_1", "doctor", MessageTypes.Image, media.MediaId, 2,
            "2025-01-27T12:00:00", "2025-01-27T12:00:00", media);
        Assert.Equal(expected, image);
        Assert.Equal(expected, await store.GetMessage(image.MessageId));
        Assert.Equal([expected, text], (await store.ListMessages("group_1", new PageRequest(1, 20))).Messages);
        Assert.Equal([text, expected], (await store.ListMessagesAfter("group_1", 0, new PageRequest(1, 20))).Messages);
        Assert.Equal([text, expected], await store.MessagesInRange("group_1", 1, 2));
        Assert.Null(text.Media);
        Assert.Null((await store.GetMessage(text.MessageId))!.Media);
    }

    [Fact]
    public async Task Should_answer_a_repeated_image_send_with_its_media_and_refuse_the_id_for_text()
    {
        var store = await WithGroup(NewStore());
        var media = (await StoreImage(store, [1, 2, 3])).Info;
        var first = await Append(store, ImageMessage("group_1", "doctor", media, clientMsgId: "c-1"));

        var again = await store.Append(ImageMessage("group_1", "doctor", media, clientMsgId: "c-1"));
        // The same content as text is another message: the fingerprint holds the type.
        var asText = await store.Append(Text("group_1", "doctor", media.MediaId, clientMsgId: "c-1"));

        Assert.True(again.Value!.Replayed);
        Assert.Equal(first.Message, again.Value.Message);
        Assert.Equal(media, again.Value.Message.Media);
        Assert.Equal(ErrorCodes.IdempotencyConflict, asText.Error?.Code);
        Assert.Equal(1, (await store.ListMessages("group_1", new PageRequest(1, 20))).Total);
    }

    [Fact]
    public async Task Should_publish_an_image_message_with_its_media_and_a_text_message_without()
    {
        var store = await WithGroup(NewStore());
        var media = (await StoreImage(store, [1, 2, 3])).Info;
        var events = await server.Redis.GetSubscriber().SubscribeAsync(store.Keys.GroupEvents("group_1"));

        var image = await Append(store, ImageMessage("group_1", "doctor", media));
        var text = await Append(store, Text("group_1", "doctor", "after"));

        var published = FrameOf<MessageSentFrame>(await ReadEvent(events));
        Assert.Equal(MessageSentFrame.From(image.Message, null), published);
        Assert.Equal(media, published.Media);
        var raw = JsonNode.Parse(ImJson.Serialize((await ReadEvent(events)).Event.Frame()))!.AsObject();
        Assert.Equal(text.Message.MessageId, (string?)raw["message_id"]);
        Assert.False(raw.ContainsKey("media"), "a text message's event carries a media object");
        await events.UnsubscribeAsync();
    }

    // ---- AI interaction records ----

    [Fact]
    public async Task Should_open_a_pending_record_with_a_patients_message()
    {
        var store = await WithGroup(NewStore());

        var appended = await Append(store, Text("group_1", "patient", "头疼", OpenRecord("http://127.0.0.1:9/v1/chat/completions")));

        var recordId = appended.OpenedRecord!.RecordId;
        Assert.Matches("^record_20250127120000_[a-z0-9]{8}$", recordId);
        var record = await store.GetRecord(recordId);
        Assert.Equal(new AiInteractionResponse(1, recordId, "group_1", appended.Message.MessageId, null,
            "http://127.0.0.1:9/v1/chat/completions", AiRecordStatus.Pending, null, null, "2025-01-27T12:00:00", "2025-01-27T12:00:00",
            "stand-in", ContextFromSeq: 1, ContextToSeq: 1, Attempts: 1, AiMode: AiModes.Auto), record);
        Assert.Contains(recordId, await store.PendingRecordIds());
        var list = await store.ListRecords("group_1", new PageRequest(1, 20));
        Assert.Equal(1, list.Total);
        Assert.Equal(record, Assert.Single(list.Records));
    }

    [Fact]
    public async Task Should_not_open_a_record_for_other_messages()
    {
        var store = await WithGroup(NewStore());

        var appended = await Append(store, Text("group_1", "doctor", "hello"));

        Assert.Null(appended.OpenedRecord);
        Assert.False(appended.Replayed);
        Assert.Empty(await store.PendingRecordIds());
        Assert.Equal(0, (await store.ListRecords("group_1", new PageRequest(1, 20))).Total);
    }

    [Fact]
    public async Task Should_list_records_newest_first()
    {
        var store = await WithGroup(NewStore());
        var opened = new List<string>();
        for (var i = 0; i < 5; i++)
            opened.Add((await Append(store, Text("group_1", "patient", $"q{i}", OpenRecord("http://ai")))).OpenedRecord!.RecordId);

        var page1 = await store.ListRecords("group_1", new PageRequest(1, 2));
        var page3 = await store.ListRecords("group_1", new PageRequest(3, 2));
        var past = await store.ListRecords("group_1", new PageRequest(4, 2));

        Assert.Equal([opened[4], opened[3]], page1.Records.Select(r => r.RecordId));
        Assert.Equal([opened[0]], page3.Records.Select(r => r.RecordId));
        Assert.Empty(past.Records);
        Assert.Equal((5L, 5L), (page1.Total, past.Total));
        Assert.Equal(opened.Order(), (await store.PendingRecordIds()).Order());
    }

    [Fact]
    public async Task Should_complete_a_record_with_the_ai_reply()
    {
        var store = await WithGroup(NewStore());
        var question = await Append(store, Text("group_1", "patient", "头疼", OpenRecord("http://ai")));
        var recordId = question.OpenedRecord!.RecordId;
        _clock.Advance(TimeSpan.FromSeconds(3));

        var reply = await Append(store, new NewMessage("group_1", "ai_assistant_001", MessageTypes.AiReply, "多喝水",
            ["patient"], null, new AiRecordChange.Complete(recordId, question.Message.MessageId, 2750, 1)));

        Assert.Equal(2, reply.Message.Seq);
        Assert.Equal(MessageTypes.AiReply, reply.Message.MsgType);
        Assert.Equal(question.Message.MessageId, (await store.GetRecord(recordId))!.UserMessageId);
        Assert.Null(reply.OpenedRecord);
        var record = await store.GetRecord(recordId);
        Assert.Equal((AiRecordStatus.Succeeded, reply.Message.MessageId, 2750L, (string?)null, "2025-01-27T12:00:03", "2025-01-27T12:00:00"),
            (record!.Status, record.AiMessageId, record.DurationMs, record.ErrorMessage, record.UpdatedAt, record.CreatedAt));
        Assert.DoesNotContain(recordId, await store.PendingRecordIds());
    }

    [Fact]
    public async Task Should_fail_a_pending_record_once()
    {
        var store = await WithGroup(NewStore());
        var recordId = (await Append(store, Text("group_1", "patient", "q", OpenRecord("http://ai")))).OpenedRecord!.RecordId;
        _clock.Advance(TimeSpan.FromSeconds(30));

        Assert.True(await Close(store, recordId, "4002: no answer within 30 s", 30_001));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(await Close(store, recordId, "4001: again", 5));

        var record = await store.GetRecord(recordId);
        Assert.Equal((AiRecordStatus.Failed, "4002: no answer within 30 s", 30_001L, (string?)null, "2025-01-27T12:00:30"),
            (record!.Status, record.ErrorMessage, record.DurationMs, record.AiMessageId, record.UpdatedAt));
        Assert.Empty(await store.PendingRecordIds());
    }

    [Fact]
    public async Task Should_fail_a_record_without_a_duration()
    {
        var store = await WithGroup(NewStore());
        var recordId = (await Append(store, Text("group_1", "patient", "q", OpenRecord("http://ai")))).OpenedRecord!.RecordId;

        Assert.True(await Close(store, recordId, "4001: interrupted", null));

        var record = await store.GetRecord(recordId);
        Assert.Equal((AiRecordStatus.Failed, (long?)null), (record!.Status, record.DurationMs));
    }

    private static NewMessage Reply(string recordId, string userMessageId, int attempt, string content = "a") =>
        new("group_1", "ai_assistant_001", MessageTypes.AiReply, content, ["patient"], null,
            new AiRecordChange.Complete(recordId, userMessageId, 10, attempt));

    [Fact]
    public async Task Should_store_a_reply_only_for_the_open_attempt_of_an_open_record()
    {
        var store = await WithGroup(NewStore());
        var question = await Append(store, Text("group_1", "patient", "q", OpenRecord("http://ai")));
        var recordId = question.OpenedRecord!.RecordId;

        Assert.Equal(ErrorCodes.InvalidState, (await store.Append(Reply(recordId, question.Message.MessageId, attempt: 2))).Error?.Code);
        Assert.True(await store.CloseRecord(recordId, 1, "4004: stopped", null,
            new AiStateChanged("group_1", ["patient"], recordId, question.Message.MessageId, AiStates.Stopped)));
        Assert.Equal(ErrorCodes.InvalidState, (await store.Append(Reply(recordId, question.Message.MessageId, attempt: 1))).Error?.Code);

        // Nothing was stored and no seq was taken by the refused replies.
        Assert.Equal([question.Message.MessageId], (await store.ListMessages("group_1", new PageRequest(1, 20))).Messages.Select(m => m.MessageId));
        Assert.Equal(2, (await Append(store, Text("group_1", "doctor", "next"))).Message.Seq);
        var record = (await store.GetRecord(recordId))!;
        Assert.Equal((AiRecordStatus.Failed, "4004: stopped", (string?)null), (record.Status, record.ErrorMessage, record.AiMessageId));
    }

    [Fact]
    public async Task Should_close_a_record_only_on_its_open_attempt_and_publish_the_state_with_it()
    {
        var store = await WithGroup(NewStore());
        var question = await Append(store, Text("group_1", "patient", "q", OpenRecord("http://ai")));
        var recordId = question.OpenedRecord!.RecordId;
        var events = await server.Redis.GetSubscriber().SubscribeAsync(store.Keys.GroupEvents("group_1"));
        var failed = new AiStateFrame("group_1", recordId, question.Message.MessageId, AiStates.Failed, ErrorCodes.AiTimeout);
        AiStateChanged To(params string[] recipients) =>
            new("group_1", recipients, recordId, question.Message.MessageId, AiStates.Failed, ErrorCodes.AiTimeout) { Seq = 1 };

        Assert.False(await store.CloseRecord(recordId, 2, "4002: late", 5, To("patient")));
        Assert.True(await store.CloseRecord(recordId, 1, "4002: no answer", 2000, To("patient", "doctor")));
        Assert.False(await store.CloseRecord(recordId, 1, "4001: again", 5, To("patient")));

        var published = await ReadEvent(events);
        Assert.Equal(failed, FrameOf<AiStateFrame>(published));
        Assert.Equal(["patient", "doctor"], published.Recipients);
        Assert.Equal(1, published.Event.Seq);
        Assert.Empty(await store.LoadGroup("group_1") is { } group ? group.OpenRecords : throw new InvalidOperationException("no group"));
        await events.UnsubscribeAsync();
    }

    [Fact]
    public async Task Should_reopen_a_record_closed_without_a_reply_as_its_next_attempt_on_the_same_context()
    {
        var store = await WithGroup(NewStore());
        for (var i = 0; i < 6; i++) await Append(store, Text("group_1", "doctor", $"m{i}"));
        var question = await Append(store, Text("group_1", "patient", "q", OpenRecord("http://ai")));
        var recordId = question.OpenedRecord!.RecordId;
        Assert.Equal((3L, 7L), (question.OpenedRecord.ContextFromSeq, question.OpenedRecord.ContextToSeq));
        Assert.Null(await store.ReopenRecord("group_1", recordId, question.Message.MessageId, question.Message.Seq, "node-2", AiModes.Auto, ["patient"]));
        await Close(store, recordId, "4002: no answer", 2000);
        await Append(store, Text("group_1", "doctor", "written later"));
        _clock.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal(2, await store.ReopenRecord("group_1", recordId, question.Message.MessageId, question.Message.Seq, "node-2", AiModes.Auto, ["patient"]));

        var record = (await store.GetRecord(recordId))!;
        Assert.Equal((AiRecordStatus.Pending, 2, (string?)null, (long?)null, 3L, 7L, "2025-01-27T12:00:05"),
            (record.Status, record.Attempts, record.ErrorMessage, record.DurationMs, record.ContextFromSeq, record.ContextToSeq, record.UpdatedAt));
        Assert.Equal(new OpenAiRecord(recordId, question.Message.MessageId, "patient", 2, 3, 7), Assert.Single((await store.LoadGroup("group_1"))!.OpenRecords));
        Assert.Contains(recordId, await store.PendingRecordIds());
        // Attempt 2's reply stores; attempt 1's would not have.
        Assert.Equal(ErrorCodes.InvalidState, (await store.Append(Reply(recordId, question.Message.MessageId, attempt: 1))).Error?.Code);
        var reply = await Append(store, Reply(recordId, question.Message.MessageId, attempt: 2));
        var answered = (await store.GetRecord(recordId))!;
        Assert.Equal((AiRecordStatus.Succeeded, reply.Message.MessageId, 2), (answered.Status, answered.AiMessageId, answered.Attempts));
        Assert.Null(await store.ReopenRecord("group_1", recordId, question.Message.MessageId, question.Message.Seq, "node-2", AiModes.Auto, ["patient"]));
    }

    [Fact]
    public async Task Should_not_fail_a_completed_or_unknown_record()
    {
        var store = await WithGroup(NewStore());
        var question = await Append(store, Text("group_1", "patient", "q", OpenRecord("http://ai")));
        var recordId = question.OpenedRecord!.RecordId;
        var reply = await Append(store, new NewMessage("group_1", "ai_assistant_001", MessageTypes.AiReply, "a", ["patient"], null,
            new AiRecordChange.Complete(recordId, question.Message.MessageId, 10, 1)));

        Assert.False(await Close(store, recordId, "4002: too late", 99));
        Assert.False(await Close(store, "record_unknown", "4001: x", null));

        var record = await store.GetRecord(recordId);
        Assert.Equal((AiRecordStatus.Succeeded, reply.Message.MessageId, 10L, (string?)null),
            (record!.Status, record.AiMessageId, record.DurationMs, record.ErrorMessage));
        Assert.False(await server.Redis.GetDatabase().KeyExistsAsync(store.Keys.Record("group_1", "record_unknown")));
    }

    // ---- the events channel ----

    [Fact]
    public async Task Should_publish_each_stored_message_on_the_events_channel()
    {
        var store = await WithGroup(NewStore());
        var events = await server.Redis.GetSubscriber().SubscribeAsync(store.Keys.GroupEvents("group_1"));
        // Content that looks like the placeholders the script fills in must come through unchanged.
        var content = """{"id":9111111111111111117,"seq":9111111111111111119} 你好 😀""";

        var appended = await Append(store, Text("group_1", "doctor", content, clientMsgId: "c-1", recipients: ["doctor", "patient"]));

        var published = await ReadEvent(events);
        // The event carries the message_sent frame exactly as clients get it; only the sender's connections add client_msg_id.
        Assert.Equal(MessageSentFrame.From(appended.Message, null), FrameOf<MessageSentFrame>(published));
        Assert.Equal(new MessageResponse(appended.Message.Id, appended.Message.MessageId, "group_1", "doctor", MessageTypes.Text,
            content, 1, "2025-01-27T12:00:00", "2025-01-27T12:00:00"), appended.Message);
        Assert.Equal(["doctor", "patient"], published.Recipients);
        Assert.Equal(("doctor", "c-1"), (published.SenderId, published.ClientMsgId));
        await events.UnsubscribeAsync();
    }

    [Fact]
    public async Task Should_publish_thinking_after_a_patients_message_and_done_after_the_reply()
    {
        var store = await WithGroup(NewStore());
        var events = await server.Redis.GetSubscriber().SubscribeAsync(store.Keys.GroupEvents("group_1"));
        var question = await Append(store, Text("group_1", "patient", "q", OpenRecord("http://ai")));
        var recordId = question.OpenedRecord!.RecordId;

        var reply = await Append(store, new NewMessage("group_1", "ai_assistant_001", MessageTypes.AiReply, "a", ["patient"], null,
            new AiRecordChange.Complete(recordId, question.Message.MessageId, 10, 1)));

        Assert.Equal(question.Message.Seq, FrameOf<MessageSentFrame>(await ReadEvent(events)).Seq);
        Assert.Equal(new AiStateFrame("group_1", recordId, question.Message.MessageId, AiStates.Thinking), FrameOf<AiStateFrame>(await ReadEvent(events)));
        var published = await ReadEvent(events);
        Assert.Equal(AiReplyFrame.From(reply.Message, question.Message.MessageId), FrameOf<AiReplyFrame>(published));
        Assert.Null(published.ClientMsgId);
        Assert.Equal(new AiStateFrame("group_1", recordId, question.Message.MessageId, AiStates.Done), FrameOf<AiStateFrame>(await ReadEvent(events)));
        await events.UnsubscribeAsync();
    }

    [Fact]
    public async Task Should_publish_in_seq_order()
    {
        var store = await WithGroup(NewStore());
        var events = await server.Redis.GetSubscriber().SubscribeAsync(store.Keys.GroupEvents("group_1"));

        var appends = Enumerable.Range(1, 30).Select(i => Append(store, Text("group_1", "doctor", $"m{i}"))).ToList();
        var appended = await Task.WhenAll(appends);

        var seqs = new List<long>();
        for (var i = 0; i < 30; i++) seqs.Add(FrameOf<MessageSentFrame>(await ReadEvent(events)).Seq);
        Assert.Equal(Enumerable.Range(1, 30).Select(i => (long)i), seqs);
        Assert.Equal(Enumerable.Range(1, 30).Select(i => (long)i), appended.Select(a => a.Message.Seq).Order());
        await events.UnsubscribeAsync();
    }

    private static async Task<Pushed> ReadEvent(ChannelMessageQueue events)
    {
        using var timeout = new CancellationTokenSource(EventWait);
        var message = await events.ReadAsync(timeout.Token);
        return Pushed.Read(message);
    }

    private static T FrameOf<T>(Pushed pushed) => pushed.Frame.Deserialize<T>(ImJson.Options)!;

    // ---- idempotent appends (client_msg_id) ----

    [Fact]
    public async Task Should_answer_a_repeated_client_msg_id_with_the_first_message()
    {
        var store = await WithGroup(NewStore());
        var first = await Append(store, Text("group_1", "doctor", "once", clientMsgId: "c-1"));
        _clock.Advance(TimeSpan.FromMinutes(5));

        var again = await store.Append(Text("group_1", "doctor", "once", clientMsgId: "c-1"));

        Assert.Null(again.Error);
        Assert.True(again.Value!.Replayed);
        Assert.Null(again.Value.OpenedRecord);
        Assert.Equal(first.Message, again.Value.Message);
        var stored = await store.ListMessages("group_1", new PageRequest(1, 20));
        Assert.Equal(first.Message, Assert.Single(stored.Messages));
        Assert.Equal(1, stored.Total);
    }

    [Fact]
    public async Task Should_publish_nothing_for_a_replay_or_a_conflict()
    {
        var store = await WithGroup(NewStore());
        var events = await server.Redis.GetSubscriber().SubscribeAsync(store.Keys.GroupEvents("group_1"));
        var first = await Append(store, Text("group_1", "doctor", "once", clientMsgId: "c-1"));
        Assert.Equal(first.Message.MessageId, FrameOf<MessageSentFrame>(await ReadEvent(events)).MessageId);

        Assert.True((await store.Append(Text("group_1", "doctor", "once", clientMsgId: "c-1"))).Value!.Replayed);
        Assert.NotNull((await store.Append(Text("group_1", "doctor", "other", clientMsgId: "c-1"))).Error);
        var next = await Append(store, Text("group_1", "doctor", "next"));

        // Events arrive in publish order, so the next one read is the next message's only if nothing came between.
        var published = FrameOf<MessageSentFrame>(await ReadEvent(events));
        Assert.Equal((next.Message.MessageId, 2L), (published.MessageId, published.Seq));
        await events.UnsubscribeAsync();
    }

    [Fact]
    public async Task Should_open_no_record_for_a_replayed_patient_message()
    {
        var store = await WithGroup(NewStore());
        var open = OpenRecord("http://ai");
        var first = await Append(store, Text("group_1", "patient", "头疼", open, clientMsgId: "c-1"));

        var again = await store.Append(Text("group_1", "patient", "头疼", open, clientMsgId: "c-1"));

        Assert.True(again.Value!.Replayed);
        Assert.Null(again.Value.OpenedRecord);
        Assert.Equal([first.OpenedRecord!.RecordId], await store.PendingRecordIds());
        Assert.Equal(1, (await store.ListRecords("group_1", new PageRequest(1, 20))).Total);
    }

    [Fact]
    public async Task Should_refuse_the_same_client_msg_id_with_other_content()
    {
        var store = await WithGroup(NewStore());
        var first = await Append(store, Text("group_1", "doctor", "once", clientMsgId: "c-1"));

        var conflict = await store.Append(Text("group_1", "doctor", "once more", clientMsgId: "c-1"));

        Assert.Null(conflict.Value);
        Assert.Equal(ErrorCodes.IdempotencyConflict, conflict.Error?.Code);
        Assert.Equal(1, (await store.ListMessages("group_1", new PageRequest(1, 20))).Total);
        // The conflict did not take the id over: the first content still replays.
        Assert.Equal(first.Message, (await store.Append(Text("group_1", "doctor", "once", clientMsgId: "c-1"))).Value!.Message);
    }

    [Fact]
    public async Task Should_keep_client_msg_ids_of_other_senders_and_groups_apart()
    {
        var store = await WithGroup(NewStore());
        Assert.NotNull(await store.CreateGroup("group_2", "other", null, "doctor"));

        var first = await Append(store, Text("group_1", "doctor", "same", clientMsgId: "c-1"));
        var otherSender = await Append(store, Text("group_1", "patient", "same", clientMsgId: "c-1"));
        var otherGroup = await Append(store, Text("group_2", "doctor", "same", clientMsgId: "c-1"));
        // Ids that would run together in a key without escaping: sender "a:b" + "c" against sender "a" + "b:c".
        var joined = await Append(store, Text("group_1", "a:b", "x", clientMsgId: "c"));
        var split = await Append(store, Text("group_1", "a", "y", clientMsgId: "b:c"));

        Assert.Equal([1L, 2, 1, 3, 4], new[] { first, otherSender, otherGroup, joined, split }.Select(a => a.Message.Seq));
        Assert.Equal(4, (await store.ListMessages("group_1", new PageRequest(1, 20))).Total);
    }

    [Fact]
    public async Task Should_remember_a_client_msg_id_for_24_hours()
    {
        var store = await WithGroup(NewStore());
        await Append(store, Text("group_1", "doctor", "once", clientMsgId: "c-1"));

        var ttl = await server.Redis.GetDatabase().KeyTimeToLiveAsync(store.Keys.SentOnce("group_1", "doctor", "c-1"));

        Assert.Equal(TimeSpan.FromHours(24), ImStore.IdempotencyWindow);
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, ImStore.IdempotencyWindow - TimeSpan.FromMinutes(1), ImStore.IdempotencyWindow);
    }

    [Fact]
    public async Task Should_store_again_once_the_client_msg_id_has_expired()
    {
        var store = await WithGroup(NewStore());
        var first = await Append(store, Text("group_1", "doctor", "once", clientMsgId: "c-1"));
        // Stands in for the window passing: the key is what the server expires.
        Assert.True(await server.Redis.GetDatabase().KeyDeleteAsync(store.Keys.SentOnce("group_1", "doctor", "c-1")));

        var later = await Append(store, Text("group_1", "doctor", "once", clientMsgId: "c-1"));

        Assert.NotEqual(first.Message.MessageId, later.Message.MessageId);
        Assert.Equal(2, later.Message.Seq);
    }

    // ---- removing members, group access and the users' group index ----

    [Fact]
    public async Task Should_remove_a_member_from_the_group_and_from_the_users_groups()
    {
        var store = await WithGroup(NewStore());
        await store.AddMember("group_1", "patient", UserRoles.Patient);
        var db = server.Redis.GetDatabase();
        Assert.True(await db.SetContainsAsync(store.Keys.UserGroups("patient"), "group_1"));

        Assert.True(await store.RemoveMember("group_1", "patient"));

        Assert.Equal(["doctor"], (await store.GetMembers("group_1")).Select(m => m.UserId));
        Assert.False((await store.LoadGroup("group_1"))!.MemberRoles.ContainsKey("patient"));
        Assert.False(await db.SetContainsAsync(store.Keys.UserGroups("patient"), "group_1"));
        Assert.True(await db.SetContainsAsync(store.Keys.UserGroups("doctor"), "group_1"));
        Assert.False(await store.RemoveMember("group_1", "patient"));
        Assert.False(await store.RemoveMember("group_1", "stranger"));
        Assert.False(await store.RemoveMember("ghost", "doctor"));
        Assert.False(await store.GroupExists("ghost"));
    }

    [Fact]
    public async Task Should_let_a_removed_member_join_again()
    {
        var store = await WithGroup(NewStore());
        await store.AddMember("group_1", "patient", UserRoles.Patient);
        await store.RemoveMember("group_1", "patient");

        Assert.Equal(AddMemberResult.Added, await store.AddMember("group_1", "patient", UserRoles.Doctor));

        Assert.Equal([("doctor", UserRoles.Doctor), ("patient", UserRoles.Doctor)],
            (await store.GetMembers("group_1")).Select(m => (m.UserId, m.UserRole)));
        Assert.True(await store.ShareAGroup("patient", "doctor"));
    }

    [Fact]
    public async Task Should_tell_whether_a_group_exists_and_the_callers_role_in_it()
    {
        var store = await WithGroup(NewStore());
        await store.AddMember("group_1", "patient", UserRoles.Patient);

        Assert.Equal((true, UserRoles.Doctor), await store.GroupAccess("group_1", "doctor"));
        Assert.Equal((true, UserRoles.Patient), await store.GroupAccess("group_1", "patient"));
        Assert.Equal((true, (string?)null), await store.GroupAccess("group_1", "stranger"));
        Assert.Equal((true, (string?)null), await store.GroupAccess("group_1", null));
        Assert.Equal((false, (string?)null), await store.GroupAccess("ghost", "doctor"));
        Assert.Equal((false, (string?)null), await store.GroupAccess("ghost", null));

        await store.RemoveMember("group_1", "patient");
        Assert.Equal((true, (string?)null), await store.GroupAccess("group_1", "patient"));
    }

    [Fact]
    public async Task Should_tell_whether_two_users_share_a_group()
    {
        var store = await WithGroup(NewStore());
        Assert.NotNull(await store.CreateGroup("group_2", "other", null, "doctor"));
        await store.AddMember("group_1", "patient", UserRoles.Patient);
        await store.AddMember("group_2", "nurse", UserRoles.Doctor);

        Assert.True(await store.ShareAGroup("patient", "doctor"));
        Assert.True(await store.ShareAGroup("doctor", "patient"));
        Assert.True(await store.ShareAGroup("nurse", "doctor"));
        Assert.False(await store.ShareAGroup("patient", "nurse"));
        Assert.False(await store.ShareAGroup("patient", "stranger"));
        Assert.False(await store.ShareAGroup("ghost", "stranger"));

        await store.RemoveMember("group_1", "patient");
        Assert.False(await store.ShareAGroup("patient", "doctor"));
        // Leaving one group leaves the others shared.
        await store.AddMember("group_1", "nurse", UserRoles.Patient);
        await store.RemoveMember("group_1", "nurse");
        Assert.True(await store.ShareAGroup("nurse", "doctor"));
    }

    // ---- ids inside keys ----

    [Theory]
    [InlineData("g:messages")]
    [InlineData("g:members")]
    [InlineData("g:records")]
    [InlineData("g%3Amessages")]
    [InlineData("%3A")]
    [InlineData("%")]
    [InlineData(":")]
    public async Task Should_never_read_another_groups_keys_through_an_odd_group_id(string groupId)
    {
        var store = await WithGroup(NewStore(), "g");
        await store.AddMember("g", "patient", UserRoles.Patient);
        await Append(store, Text("g", "patient", "q", OpenRecord("http://ai")));

        Assert.False(await store.GroupExists(groupId));
        Assert.Null(await store.GetGroup(groupId));
        Assert.Null(await store.LoadGroup(groupId));
        Assert.Empty(await store.GetMembers(groupId));
        Assert.Equal(0, (await store.ListMessages(groupId, new PageRequest(1, 20))).Total);
        Assert.Equal(0, (await store.ListRecords(groupId, new PageRequest(1, 20))).Total);
        Assert.Equal((false, (string?)null), await store.GroupAccess(groupId, "patient"));
        Assert.Equal(AddMemberResult.NoGroup, await store.AddMember(groupId, "patient", UserRoles.Patient));
        Assert.False(await store.RemoveMember(groupId, "patient"));
    }

    [Theory]
    [InlineData("g:messages")]
    [InlineData("g:members")]
    [InlineData("g%3Amessages")]
    [InlineData("%3A")]
    public async Task Should_keep_a_group_with_an_odd_id_apart_from_group_g(string groupId)
    {
        var store = await WithGroup(NewStore(), "g");
        var inG = await Append(store, Text("g", "doctor", "in g"));

        var odd = await store.CreateGroup(groupId, "odd", null, "doctor");
        await store.AddMember(groupId, "patient", UserRoles.Patient);
        var inOdd = await Append(store, Text(groupId, "patient", "in odd"));

        Assert.Equal(groupId, odd!.GroupId);
        Assert.Equal((1L, 1L), (inG.Message.Seq, inOdd.Message.Seq));
        Assert.Equal("Cardiology", (await store.GetGroup("g"))!.GroupName);
        Assert.Equal(["doctor"], (await store.GetMembers("g")).Select(m => m.UserId));
        Assert.Equal(["doctor", "patient"], (await store.GetMembers(groupId)).Select(m => m.UserId));
        Assert.Equal(["in g"], (await store.ListMessages("g", new PageRequest(1, 20))).Messages.Select(m => m.MsgContent));
        Assert.Equal(["in odd"], (await store.ListMessages(groupId, new PageRequest(1, 20))).Messages.Select(m => m.MsgContent));
    }

    [Fact]
    public async Task Should_keep_a_user_with_an_odd_id_apart_from_another_users_groups()
    {
        var store = await WithGroup(NewStore(), creator: "u");

        Assert.Null(await store.GetUser("u:groups"));
        Assert.NotNull(await store.CreateUser("u:groups", "odd", UserRoles.Patient));

        Assert.Equal("Dr. u", (await store.GetUser("u"))!.Username);
        Assert.Equal("odd", (await store.GetUser("u:groups"))!.Username);
        Assert.Equal(["group_1"], (await server.Redis.GetDatabase().SetMembersAsync(store.Keys.UserGroups("u"))).Select(v => (string)v!));
        Assert.False(await store.ShareAGroup("u:groups", "u"));
    }

    // ---- durability ----

    [Fact]
    public async Task Should_keep_data_across_a_new_connection()
    {
        var store = await WithGroup(NewStore());
        await store.CreateUser("patient", "王五", UserRoles.Patient);
        await store.AddMember("group_1", "patient", UserRoles.Patient);
        var message = (await Append(store, Text("group_1", "patient", "你好"))).Message;

        await using var other = await server.Connect();
        var again = StoreServer.NewStore(other, _prefix, _clock);

        Assert.Equal("王五", (await again.GetUser("patient"))!.Username);
        Assert.Equal(["doctor", "patient"], (await again.GetMembers("group_1")).Select(m => m.UserId));
        Assert.Equal(message, await again.GetMessage(message.MessageId));
        Assert.Equal(2, (await Append(again, Text("group_1", "doctor", "next"))).Message.Seq);
    }

    [Fact]
    public async Task Should_store_a_groups_ai_settings_and_publish_them_in_one_step()
    {
        var store = await WithGroup(NewStore());
        var events = await server.Redis.GetSubscriber().SubscribeAsync(store.Keys.GroupEvents("group_1"));
        Assert.Equal((AiModes.Auto, 0), ((await store.GetGroup("group_1"))!.AiMode, (await store.GetGroup("group_1"))!.PauseAfterDoctorSeconds));
        _clock.Advance(TimeSpan.FromMinutes(1));

        var settings = (await store.SetGroupAi("group_1", AiModes.Off, 900, "doctor", ["doctor", "patient"]))!;

        Assert.Equal(new GroupAiResponse("group_1", AiModes.Off, 900, "doctor", Ids.FormatTime(_clock.Now)), settings);
        var group = (await store.GetGroup("group_1"))!;
        Assert.Equal((AiModes.Off, 900, settings.UpdatedAt), (group.AiMode, group.PauseAfterDoctorSeconds, group.UpdatedAt));
        using var wait = new CancellationTokenSource(EventWait);
        var pushed = Pushed.Read(await events.ReadAsync(wait.Token));
        Assert.Equal(["doctor", "patient"], pushed.Recipients);
        Assert.Equal(GroupUpdatedFrame.From(settings), pushed.Frame.Deserialize<GroupUpdatedFrame>(ImJson.Options));
        Assert.Equal((AiModes.Off, 900), ((await store.LoadGroup("group_1"))!.Group.AiMode, (await store.LoadGroup("group_1"))!.Group.PauseAfterDoctorSeconds));

        Assert.Null(await store.SetGroupAi("group_nobody_made", AiModes.Off, 0, "doctor", ["doctor"]));
        Assert.Null(await store.GetGroup("group_nobody_made"));
        await events.UnsubscribeAsync();
    }

    [Fact]
    public async Task Should_keep_the_end_of_a_pause_a_stored_message_started()
    {
        var store = await WithGroup(NewStore());
        Assert.Null((await store.LoadGroup("group_1"))!.AiPausedUntil);
        var until = _clock.Now.AddMinutes(10);

        await Append(store, Text("group_1", "doctor", "I am looking at it") with { PausesAiUntil = until });

        Assert.Equal(until.ToUnixTimeMilliseconds(), (await store.LoadGroup("group_1"))!.AiPausedUntil!.Value.ToUnixTimeMilliseconds());
        // A repeat of the same client_msg_id stores nothing, and starts no pause either.
        var later = _clock.Now.AddMinutes(30);
        await Append(store, Text("group_1", "doctor", "once", clientMsgId: "c-1") with { PausesAiUntil = later });
        Assert.True((await store.Append(Text("group_1", "doctor", "once", clientMsgId: "c-1") with { PausesAiUntil = later.AddHours(1) })).Value!.Replayed);
        Assert.Equal(later.ToUnixTimeMilliseconds(), (await store.LoadGroup("group_1"))!.AiPausedUntil!.Value.ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task Should_keep_a_draft_out_of_the_open_records_and_take_exactly_one_decision_on_it()
    {
        var store = await WithGroup(NewStore());
        var question = await Append(store, Text("group_1", "patient", "q", new AiRecordChange.Open("http://ai", "node-1", "stand-in", 5, AiModes.Review)));
        var recordId = question.OpenedRecord!.RecordId;
        Assert.Equal(AiModes.Review, question.OpenedRecord.AiMode);

        Assert.False(await store.StoreDraft("group_1", recordId, question.Message.MessageId, question.Message.Seq, 2, "late", 5, ["doctor"], ["patient"]));
        Assert.True(await store.StoreDraft("group_1", recordId, question.Message.MessageId, question.Message.Seq, 1, "the draft", 900, ["doctor"], ["patient"]));
        Assert.False(await store.StoreDraft("group_1", recordId, question.Message.MessageId, question.Message.Seq, 1, "twice", 5, ["doctor"], ["patient"]));

        // Waiting for a doctor: no call runs, so neither the janitor nor a starting writer sees it.
        Assert.Empty(await store.PendingRecordIds());
        Assert.Empty((await store.LoadGroup("group_1"))!.OpenRecords);
        var stored = (await store.GetStoredRecord("group_1", recordId))!;
        Assert.Equal(("the draft", ReviewStates.Pending, AiRecordStatus.Pending), (stored.Draft!.Content, stored.Record.ReviewState, stored.Record.Status));
        Assert.Equal([recordId], (await store.ListPendingDrafts("group_1", new PageRequest(1, 20))).Records.Select(r => r.RecordId));

        // A reply that is not an approval cannot close it; an approval can, once.
        Assert.Equal(ErrorCodes.InvalidState, (await store.Append(Reply(recordId, question.Message.MessageId, attempt: 1))).Error?.Code);
        var approve = Reply(recordId, question.Message.MessageId, attempt: 1) with
        {
            Content = "the edited draft",
            Ai = new AiRecordChange.Complete(recordId, question.Message.MessageId, 900, 1, "doctor", Edited: true),
        };
        var approved = await Append(store, approve);
        Assert.Equal(ErrorCodes.InvalidState, (await store.Append(approve)).Error?.Code);
        Assert.False(await store.RejectDraft("group_1", recordId, question.Message.MessageId, question.Message.Seq, "doctor", ["patient"]));

        var record = (await store.GetRecord(recordId))!;
        Assert.Equal((AiRecordStatus.Succeeded, ReviewStates.Approved, "doctor", (bool?)true, approved.Message.MessageId),
            (record.Status, record.ReviewState, record.ReviewedBy, record.Edited, record.AiMessageId));
        Assert.Null((await store.GetStoredRecord("group_1", recordId))!.Draft);
        Assert.Equal(0, (await store.ListPendingDrafts("group_1", new PageRequest(1, 20))).Total);
    }

    [Fact]
    public async Task Should_reject_a_pending_draft_once_and_reopen_it_without_its_review()
    {
        var store = await WithGroup(NewStore());
        var question = await Append(store, Text("group_1", "patient", "q", new AiRecordChange.Open("http://ai", "node-1", "stand-in", 5, AiModes.Review)));
        var recordId = question.OpenedRecord!.RecordId;
        Assert.False(await store.RejectDraft("group_1", recordId, question.Message.MessageId, question.Message.Seq, "doctor", ["patient"]));
        Assert.True(await store.StoreDraft("group_1", recordId, question.Message.MessageId, question.Message.Seq, 1, "the draft", 900, ["doctor"], ["patient"]));

        Assert.True(await store.RejectDraft("group_1", recordId, question.Message.MessageId, question.Message.Seq, "doctor", ["patient"]));
        Assert.False(await store.RejectDraft("group_1", recordId, question.Message.MessageId, question.Message.Seq, "doctor", ["patient"]));

        var record = (await store.GetRecord(recordId))!;
        Assert.Equal((AiRecordStatus.Failed, "4005: rejected", ReviewStates.Rejected, "doctor"),
            (record.Status, record.ErrorMessage, record.ReviewState, record.ReviewedBy));
        Assert.Equal(2, await store.ReopenRecord("group_1", recordId, question.Message.MessageId, question.Message.Seq, "node-1", AiModes.Review, ["patient"]));
        record = (await store.GetRecord(recordId))!;
        Assert.Equal((AiRecordStatus.Pending, (string?)null, (string?)null, (bool?)null), (record.Status, record.ReviewState, record.ReviewedBy, record.Edited));
    }

    [Fact]
    public async Task Should_keep_data_across_a_server_restart()
    {
        var store = await WithGroup(NewStore());
        await store.AddMember("group_1", "patient", UserRoles.Patient);
        var first = (await Append(store, Text("group_1", "patient", "一"))).Message;
        var question = await Append(store, Text("group_1", "patient", "二", OpenRecord("http://ai")));

        await server.Restart();

        var again = StoreServer.NewStore(server.Redis, _prefix, _clock);
        Assert.Equal("Cardiology", (await again.GetGroup("group_1"))!.GroupName);
        Assert.Equal(["doctor", "patient"], (await again.GetMembers("group_1")).Select(m => m.UserId));
        Assert.Equal(first, await again.GetMessage(first.MessageId));
        Assert.Equal([question.OpenedRecord!.RecordId], await again.PendingRecordIds());
        var next = (await Append(again, Text("group_1", "doctor", "三"))).Message;
        Assert.Equal(3, next.Seq);
        Assert.True(next.Id > question.Message.Id);
    }
}

public sealed class RedisStoreSpecs(RedisStoreServer server) : StoreSpecs(server), IClassFixture<RedisStoreServer>
{
    [Fact]
    public void Should_publish_on_classic_channels_on_one_server() =>
        Assert.False(StoreServer.NewStore(server.Redis, StoreServer.UniquePrefix()).Keys.Sharded);
}

public sealed class GarnetStoreSpecs(GarnetStoreServer server) : StoreSpecs(server), IClassFixture<GarnetStoreServer>;

public sealed class RedisClusterStoreSpecs(RedisClusterStoreServer server) : StoreSpecs(server), IClassFixture<RedisClusterStoreServer>
{
    [Fact]
    public void Should_publish_on_shard_channels_on_a_cluster() =>
        Assert.True(StoreServer.NewStore(server.Redis, StoreServer.UniquePrefix()).Keys.Sharded);
}
