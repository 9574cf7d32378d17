using System.Collections.Immutable;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Im.Actors.Events;
using Im.Contracts;
using StackExchange.Redis;

namespace Im.Actors.Storage;

/// <summary>
/// The whole storage plan over RESP: the same code talks to the embedded Garnet server and to
/// Redis 7. Each write that a reply acknowledges is one script, done before the reply. Reads of a
/// page cost O(log n + page): timelines are sorted sets scored by <c>seq</c> or record id.
/// </summary>
public sealed class ImStore(IConnectionMultiplexer redis, StoreKeys keys, TimeProvider clock)
{
    private IDatabase Db => redis.GetDatabase();

    public StoreKeys Keys => keys;

    public DateTimeOffset Now => clock.GetUtcNow();

    public async Task<UserResponse?> CreateUser(string userId, string username, string role)
    {
        var now = Ids.FormatTime(Now);
        var id = (long)await Db.ScriptEvaluateAsync(StoreScripts.CreateUser,
            [keys.UserCounter, keys.User(userId)], [userId, username, role, now]);
        return id < 0 ? null : new UserResponse(id, userId, username, role, now, now);
    }

    /// <summary>Creates the user unless it exists; used for the AI assistant at start-up.</summary>
    public async Task EnsureUser(string userId, string username, string role)
    {
        if (!await Db.KeyExistsAsync(keys.User(userId)))
            await CreateUser(userId, username, role);
    }

    public async Task<UserResponse?> GetUser(string userId) => ToUser(await Db.HashGetAllAsync(keys.User(userId)));

    public Task<bool> UserExists(string userId) => Db.KeyExistsAsync(keys.User(userId));

    public async Task<UserResponse?> UpdateUserRole(string userId, string role)
    {
        var updated = (long)await Db.ScriptEvaluateAsync(StoreScripts.UpdateUserRole,
            [keys.User(userId)], [role, Ids.FormatTime(Now)]);
        return updated == 0 ? null : await GetUser(userId);
    }

    public async Task<GroupResponse?> CreateGroup(string groupId, string name, string? description, string createdBy)
    {
        var now = Ids.FormatTime(Now);
        var id = (long)await Db.ScriptEvaluateAsync(StoreScripts.CreateGroup,
            [keys.GroupCounter, keys.Group(groupId), keys.GroupMembers(groupId), keys.UserGroups(createdBy)],
            [
                groupId, name, description ?? "", description is null ? "0" : "1", createdBy, now, UserRoles.Doctor,
                keys.UserEvents(createdBy).ToString(), EventEnvelope.Body(new JoinedGroup(createdBy, groupId)),
            ]);
        return id < 0 ? null : new GroupResponse(id, groupId, name, description, createdBy, now, now);
    }

    public async Task<GroupResponse?> GetGroup(string groupId) => ToGroup(await Db.HashGetAllAsync(keys.Group(groupId)));

    public Task<bool> GroupExists(string groupId) => Db.KeyExistsAsync(keys.Group(groupId));

    public async Task<GroupSnapshot?> LoadGroup(string groupId)
    {
        var groupTask = Db.HashGetAllAsync(keys.Group(groupId));
        var membersTask = Db.HashGetAllAsync(keys.GroupMembers(groupId));
        var openTask = Db.SetMembersAsync(keys.GroupOpenRecords(groupId));
        var groupFields = await groupTask;
        var group = ToGroup(groupFields);
        if (group is null) return null;
        var roles = (await membersTask).ToImmutableDictionary(e => (string)e.Name!, e => ParseMember((string)e.Name!, e.Value).Member.UserRole);
        var open = await Task.WhenAll((await openTask).Select(id => Db.HashGetAllAsync(keys.Record((string)id!))));
        var pausedUntil = groupFields.FirstOrDefault(field => field.Name == "ai_paused_until").Value;
        return new GroupSnapshot(group, roles, [.. open.Select(ToOpenRecord).OfType<OpenAiRecord>()],
            pausedUntil.IsNull ? null : DateTimeOffset.FromUnixTimeMilliseconds((long)pausedUntil));
    }

    /// <summary>
    /// Stores the group's AI settings and publishes <c>group_updated</c> to <paramref name="recipients"/>
    /// in the same step; null if there is no group.
    /// </summary>
    public async Task<GroupAiResponse?> SetGroupAi(string groupId, string aiMode, int pauseAfterDoctorSeconds, string updatedBy,
        IEnumerable<string> recipients)
    {
        var settings = new GroupAiResponse(groupId, aiMode, pauseAfterDoctorSeconds, updatedBy, Ids.FormatTime(Now));
        var set = (long)await Db.ScriptEvaluateAsync(StoreScripts.SetGroupAi, [keys.Group(groupId)],
        [
            aiMode, Number(pauseAfterDoctorSeconds), updatedBy, settings.UpdatedAt, Channel(groupId),
            EventEnvelope.Body(new GroupAiChanged(groupId, [.. recipients], aiMode, pauseAfterDoctorSeconds, updatedBy)),
        ]);
        return set == 1 ? settings : null;
    }

    /// <summary>Members by join order (which is <c>joined_at</c> order, ties broken by who joined first).</summary>
    public async Task<IReadOnlyList<MemberResponse>> GetMembers(string groupId)
    {
        var entries = await Db.HashGetAllAsync(keys.GroupMembers(groupId));
        return entries.Select(e => ParseMember((string)e.Name!, e.Value)).OrderBy(m => m.Order).Select(m => m.Member).ToList();
    }

    public async Task<AddMemberResult> AddMember(string groupId, string userId, string role)
    {
        var order = (long)await Db.ScriptEvaluateAsync(StoreScripts.AddMember,
            [keys.Group(groupId), keys.GroupMembers(groupId), keys.UserGroups(userId)],
            [userId, role, Ids.FormatTime(Now), groupId, keys.UserEvents(userId).ToString(), EventEnvelope.Body(new JoinedGroup(userId, groupId))]);
        return order switch
        {
            < 0 => AddMemberResult.NoGroup,
            0 => AddMemberResult.AlreadyMember,
            _ => AddMemberResult.Added,
        };
    }

    /// <summary>Takes the user out of the group and out of the user's group index; false if the user was not a member.</summary>
    public async Task<bool> RemoveMember(string groupId, string userId) =>
        (long)await Db.ScriptEvaluateAsync(StoreScripts.RemoveMember,
            [keys.GroupMembers(groupId), keys.UserGroups(userId)],
            [userId, groupId, keys.UserEvents(userId).ToString(), EventEnvelope.Body(new LeftGroup(userId, groupId))]) == 1;

    /// <summary>Whether the group exists and, for a caller, the caller's role in it (null when not a member).</summary>
    public async Task<(bool Exists, string? Role)> GroupAccess(string groupId, string? userId)
    {
        var exists = Db.KeyExistsAsync(keys.Group(groupId));
        var member = userId is null ? Task.FromResult(RedisValue.Null) : Db.HashGetAsync(keys.GroupMembers(groupId), userId);
        var entry = await member;
        return (await exists, entry.IsNull ? null : ParseMember(userId!, entry).Member.UserRole);
    }

    /// <summary>Whether two users are members of at least one common group (from the users' group indexes).</summary>
    public async Task<bool> ShareAGroup(string userId, string otherUserId) =>
        (long)await Db.ExecuteAsync("SINTERCARD", 2, keys.UserGroups(userId), keys.UserGroups(otherUserId), "LIMIT", 1) > 0;

    /// <summary>
    /// Builds the users' group indexes from every group's members, once per store: groups created
    /// before the indexes existed are then found too. Idempotent; the marker records that it ran.
    /// </summary>
    public async Task<int> IndexUserGroups()
    {
        if (await Db.KeyExistsAsync(keys.UserGroupsIndexed)) return 0;
        var indexed = 0;
        long cursor = 0;
        do
        {
            var page = (RedisResult[])(await Db.ExecuteAsync("SCAN", cursor, "MATCH", keys.AllGroupMembersPattern, "COUNT", 500))!;
            cursor = long.Parse((string)page[0]!, CultureInfo.InvariantCulture);
            foreach (var key in (RedisResult[])page[1]!)
            {
                var groupId = keys.GroupIdOfMembersKey((string)key!);
                foreach (var userId in await Db.HashKeysAsync((string)key!))
                    await Db.SetAddAsync(keys.UserGroups((string)userId!), groupId);
                indexed++;
            }
        } while (cursor != 0);
        await Db.StringSetAsync(keys.UserGroupsIndexed, Ids.FormatTime(Now));
        return indexed;
    }

    /// <summary>How long a sender's <c>client_msg_id</c> keeps answering with the message it first stored.</summary>
    public static readonly TimeSpan IdempotencyWindow = TimeSpan.FromHours(24);

    /// <summary>
    /// Appends the message in one atomic step, or, when its <c>client_msg_id</c> already stored one,
    /// answers that message (<see cref="AppendedMessage.Replayed"/>) without storing or publishing
    /// anything; the same id with other content is <c>IDEMPOTENCY_CONFLICT</c>.
    /// </summary>
    public async Task<Outcome<AppendedMessage>> AppendMessage(NewMessage message)
    {
        var now = Now;
        var createdAt = Ids.FormatTime(now);
        var messageId = Ids.NewMessageId(now);
        var (mode, recordId, url, userMessageId, duration, node) = message.Ai switch
        {
            AiRecordChange.Open open => ("create", Ids.NewRecordId(now), open.AiServiceUrl, "", "", open.Node),
            AiRecordChange.Complete done => ("complete", done.RecordId, "", done.UserMessageId, Number(done.DurationMs), ""),
            _ => ("none", "", "", "", "", ""),
        };
        var (attempt, model, contextSize, aiMode) = message.Ai switch
        {
            AiRecordChange.Open open => ("", open.Model, Number(open.ContextSize), open.AiMode),
            AiRecordChange.Complete done => (Number(done.Attempt), "", "", ""),
            _ => ("", "", "", ""),
        };
        // What the record's clients hear right after the message itself: the AI is thinking, or it is done.
        AiStateChanged? after = message.Ai switch
        {
            AiRecordChange.Open => new AiStateChanged(message.GroupId, [.. message.Recipients], recordId, messageId, AiStates.Thinking),
            AiRecordChange.Complete done => new AiStateChanged(message.GroupId, [.. message.Recipients], done.RecordId, done.UserMessageId,
                AiStates.Done),
            _ => null,
        };

        var (mediaType, mediaSize, mediaWidth, mediaHeight) = message.Media is { } media
            ? (media.ContentType, Number(media.Size), Number(media.Width), Number(media.Height))
            : ("", "", "", "");
        // The script writes the id and seq it takes in front of this, in the event's envelope.
        var stored = new MessageStored(message.GroupId, [.. message.Recipients], messageId, message.FromUserId, message.MsgType,
            message.Content, createdAt, message.Media, userMessageId == "" ? null : userMessageId, message.ClientMsgId);
        var (sentOnce, fingerprint) = message.ClientMsgId is { } clientMsgId
            ? (keys.SentOnce(message.GroupId, message.FromUserId, clientMsgId), Fingerprint(message.MsgType, message.Content))
            : ((RedisKey)(keys.Prefix + "sent:-"), "");

        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(StoreScripts.AppendMessage,
            [
                keys.MessageCounter, keys.Group(message.GroupId), keys.GroupMessages(message.GroupId), keys.Message(messageId),
                keys.RecordCounter, recordId == "" ? keys.Prefix + "record:-" : keys.Record(recordId),
                keys.GroupRecords(message.GroupId), keys.PendingRecords, sentOnce, keys.GroupOpenRecords(message.GroupId),
                keys.GroupDrafts(message.GroupId),
            ],
            [
                messageId, message.GroupId, message.FromUserId, message.MsgType, message.Content, createdAt, userMessageId,
                mode, recordId, url, duration, Channel(message.GroupId), EventEnvelope.Body(stored), node,
                fingerprint, (long)IdempotencyWindow.TotalSeconds, mediaType, mediaSize, mediaWidth, mediaHeight,
                attempt, model, contextSize, aiMode, after is null ? "" : EventEnvelope.Body(after),
                message.PausesAiUntil is { } pauseEnd ? Number(pauseEnd.ToUnixTimeMilliseconds()) : "",
                message.Ai is AiRecordChange.Complete { ReviewedBy: { } reviewer } ? reviewer : "",
                message.Ai is AiRecordChange.Complete { Edited: true } ? "1" : "0",
            ]))!;
        switch ((long)result[0])
        {
            case -3:
                return Errors.AttemptNotOpen;
            case -2:
                return Errors.IdempotencyConflict;
            case -1:
                // The first message is stored with the key in the same step, so it is always there to read.
                var first = await GetMessage((string)result[1]!) ?? throw new InvalidOperationException("a repeated client_msg_id names no message");
                return new AppendedMessage(first, null, Replayed: true);
        }
        var appended = new MessageResponse((long)result[0], messageId, message.GroupId, message.FromUserId, message.MsgType,
            message.Content, (long)result[1], createdAt, createdAt, message.Media);
        var opened = mode == "create"
            ? new OpenAiRecord(recordId, messageId, message.FromUserId, 1, (long)result[3], appended.Seq, aiMode)
            : null;
        return new AppendedMessage(appended, opened, Replayed: false);
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Fingerprint(string msgType, string content) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(msgType + "\n" + content)));

    /// <summary>
    /// Stores an image's bytes and what is known of it in one step. The bytes live beside the
    /// messages, so every node serves them and they are as durable as the messages that name them.
    /// </summary>
    public async Task<MediaResponse> StoreMedia(string groupId, string uploaderId, string contentType, byte[] bytes, int width,
        int height, string sha256)
    {
        var now = Now;
        var media = new MediaResponse(Ids.NewMediaId(now), groupId, contentType, bytes.LongLength, width, height, sha256, Ids.FormatTime(now));
        await Db.ScriptEvaluateAsync(StoreScripts.StoreMedia, [keys.Media(media.MediaId), keys.MediaBytes(media.MediaId)],
        [
            media.MediaId, media.GroupId, uploaderId, media.ContentType, media.Size, media.Width, media.Height, media.Sha256,
            media.CreatedAt, bytes,
        ]);
        return media;
    }

    public async Task<MediaResponse?> GetMedia(string mediaId) => ToMedia(await Db.HashGetAllAsync(keys.Media(mediaId)));

    public async Task<byte[]?> GetMediaBytes(string mediaId) => await Db.StringGetAsync(keys.MediaBytes(mediaId));

    public async Task<MessageResponse?> GetMessage(string messageId) => ToMessage(await Db.HashGetAllAsync(keys.Message(messageId)));

    /// <summary>A page of the group's messages, newest first by <c>seq</c>.</summary>
    public async Task<(IReadOnlyList<MessageResponse> Messages, long Total)> ListMessages(string groupId, PageRequest page)
    {
        var timeline = keys.GroupMessages(groupId);
        var totalTask = Db.SortedSetLengthAsync(timeline);
        var ids = await Db.SortedSetRangeByRankAsync(timeline, page.Skip, page.Skip + page.PageSize - 1, Order.Descending);
        return (await LoadMessages(ids), await totalTask);
    }

    /// <summary>A page of the group's messages with <c>seq</c> greater than <paramref name="afterSeq"/>, oldest first.</summary>
    public async Task<(IReadOnlyList<MessageResponse> Messages, long Total)> ListMessagesAfter(string groupId, long afterSeq, PageRequest page)
    {
        var timeline = keys.GroupMessages(groupId);
        var totalTask = Db.SortedSetLengthAsync(timeline);
        var ids = await Db.SortedSetRangeByScoreAsync(timeline, afterSeq, double.PositiveInfinity, Exclude.Start, Order.Ascending,
            page.Skip, page.PageSize);
        return (await LoadMessages(ids), await totalTask);
    }

    /// <summary>
    /// Up to <paramref name="max"/> of the group's messages with <c>seq</c> greater than <paramref name="afterSeq"/>,
    /// oldest first, as they are pushed (an AI reply with the patient's message it answers): what a late reader missed.
    /// </summary>
    public async Task<IReadOnlyList<StoredMessage>> MessagesAfter(string groupId, long afterSeq, int max)
    {
        var ids = await Db.SortedSetRangeByScoreAsync(keys.GroupMessages(groupId), afterSeq, double.PositiveInfinity, Exclude.Start,
            Order.Ascending, 0, max);
        var hashes = await Task.WhenAll(ids.Select(id => Db.HashGetAllAsync(keys.Message((string)id!))));
        return [.. hashes.Where(fields => fields.Length > 0).Select(fields => new StoredMessage(ToMessage(fields)!,
            fields.FirstOrDefault(field => field.Name == "user_message_id").Value is { IsNull: false } asked ? (string?)asked : null))];
    }

    /// <summary>The groups the user is a member of (the user's group index).</summary>
    public async Task<IReadOnlyList<string>> UserGroupIds(string userId) =>
        [.. (await Db.SetMembersAsync(keys.UserGroups(userId))).Select(id => (string)id!)];

    /// <summary>The group's messages with <c>seq</c> from <paramref name="fromSeq"/> to <paramref name="toSeq"/>, oldest first: an AI call's context.</summary>
    public async Task<IReadOnlyList<MessageResponse>> MessagesInRange(string groupId, long fromSeq, long toSeq) =>
        await LoadMessages(await Db.SortedSetRangeByScoreAsync(keys.GroupMessages(groupId), fromSeq, toSeq, Exclude.None, Order.Ascending));

    public async Task<AiInteractionResponse?> GetRecord(string recordId) => ToRecord(await Db.HashGetAllAsync(keys.Record(recordId)));

    /// <summary>The record and who asked, for its writer's decisions; records of older versions name nobody.</summary>
    public async Task<StoredAiRecord?> GetStoredRecord(string recordId)
    {
        var entries = await Db.HashGetAllAsync(keys.Record(recordId));
        if (entries.Length == 0) return null;
        var f = entries.ToStringDictionary();
        var record = ToRecord(f);
        var draft = record.ReviewState == ReviewStates.Pending && f.TryGetValue("draft", out var content)
            ? new AiDraftResponse(record.RecordId, record.GroupId, record.UserMessageId, content, f.GetValueOrDefault("draft_at") ?? record.UpdatedAt)
            : null;
        return new StoredAiRecord(record, f.GetValueOrDefault("asked_by") ?? "", draft);
    }

    /// <summary>
    /// Review mode: keeps <paramref name="attempt"/>'s answer as the record's pending draft, tells the
    /// group's doctors (<c>ai_draft</c>) and everyone else (<c>ai_state</c> <c>in_review</c>) in the
    /// same step. False if that attempt is not open.
    /// </summary>
    /// <param name="userSeq">The patient's message's <c>seq</c>, which the events follow.</param>
    public async Task<bool> StoreDraft(string groupId, string recordId, string userMessageId, long userSeq, int attempt, string draft,
        long durationMs, IEnumerable<string> doctors, IEnumerable<string> others) =>
        (long)await Db.ScriptEvaluateAsync(StoreScripts.StoreDraft,
            [keys.Record(recordId), keys.PendingRecords, keys.GroupOpenRecords(groupId), keys.GroupDrafts(groupId)],
            [
                Number(attempt), draft, Number(durationMs), Ids.FormatTime(Now), recordId, Channel(groupId),
                EventEnvelope.Payload(new AiDraftWritten(groupId, [.. doctors], recordId, userMessageId, draft) { Seq = userSeq }),
                EventEnvelope.Payload(new AiStateChanged(groupId, [.. others], recordId, userMessageId, AiStates.InReview) { Seq = userSeq }),
            ]) == 1;

    /// <summary>Review mode: closes a pending draft as <c>4005: rejected</c> and says so to the group; false if none is pending.</summary>
    public async Task<bool> RejectDraft(string groupId, string recordId, string userMessageId, long userSeq, string reviewedBy,
        IEnumerable<string> recipients) =>
        (long)await Db.ScriptEvaluateAsync(StoreScripts.RejectDraft, [keys.Record(recordId), keys.GroupDrafts(groupId)],
            [
                reviewedBy, Ids.FormatTime(Now), recordId, Channel(groupId),
                EventEnvelope.Payload(new AiStateChanged(groupId, [.. recipients], recordId, userMessageId, AiStates.Rejected,
                    ErrorCodes.AiRejected) { Seq = userSeq }),
            ]) == 1;

    /// <summary>Review mode: the group's records whose draft waits for a doctor, newest first.</summary>
    public async Task<(IReadOnlyList<AiInteractionResponse> Records, long Total)> ListPendingDrafts(string groupId, PageRequest page)
    {
        var totalTask = Db.SortedSetLengthAsync(keys.GroupDrafts(groupId));
        var ids = await Db.SortedSetRangeByRankAsync(keys.GroupDrafts(groupId), page.Skip, page.Skip + page.PageSize - 1, Order.Descending);
        var records = await Task.WhenAll(ids.Select(id => Db.HashGetAllAsync(keys.Record((string)id!))));
        return (records.Select(ToRecord).OfType<AiInteractionResponse>().ToList(), await totalTask);
    }

    /// <summary>The group a record belongs to, which routes a stop or a retry to the group's writer; null for no such record.</summary>
    public async Task<string?> RecordGroup(string recordId) => await Db.HashGetAsync(keys.Record(recordId), "group_id");

    /// <summary>A page of the group's AI interaction records, newest first.</summary>
    public async Task<(IReadOnlyList<AiInteractionResponse> Records, long Total)> ListRecords(string groupId, PageRequest page)
    {
        var index = keys.GroupRecords(groupId);
        var totalTask = Db.SortedSetLengthAsync(index);
        var ids = await Db.SortedSetRangeByRankAsync(index, page.Skip, page.Skip + page.PageSize - 1, Order.Descending);
        var records = await Task.WhenAll(ids.Select(id => Db.HashGetAllAsync(keys.Record(id!))));
        return (records.Select(ToRecord).OfType<AiInteractionResponse>().ToList(), await totalTask);
    }

    /// <summary>
    /// Closes an open record without a reply (failed, stopped, interrupted) and publishes
    /// <paramref name="state"/> in the same step. With an <paramref name="attempt"/>, only while that
    /// attempt is the open one. False if it was not open.
    /// </summary>
    public async Task<bool> CloseRecord(string recordId, int? attempt, string errorMessage, long? durationMs, AiStateChanged state) =>
        (long)await Db.ScriptEvaluateAsync(StoreScripts.CloseRecord,
            [keys.Record(recordId), keys.PendingRecords, keys.GroupOpenRecords(state.GroupId)],
            [
                attempt is { } a ? Number(a) : "", errorMessage, durationMs is { } ms ? Number(ms) : "", Ids.FormatTime(Now), recordId,
                Channel(state.GroupId), EventEnvelope.Payload(state),
            ]) == 1;

    /// <summary>Opens a record closed without a reply for one more attempt, on the same context; null if it was not so closed.</summary>
    public async Task<int?> ReopenRecord(string groupId, string recordId, string userMessageId, long userSeq, string node, string aiMode,
        IEnumerable<string> recipients)
    {
        var attempt = (long)await Db.ScriptEvaluateAsync(StoreScripts.ReopenRecord,
            [keys.Record(recordId), keys.PendingRecords, keys.GroupOpenRecords(groupId)],
            [
                Ids.FormatTime(Now), node, aiMode, recordId, Channel(groupId),
                EventEnvelope.Payload(new AiStateChanged(groupId, [.. recipients], recordId, userMessageId, AiStates.Thinking) { Seq = userSeq }),
            ]);
        return attempt < 0 ? null : (int)attempt;
    }

    /// <summary>Publishes an event that is not stored (an AI reply's progress) on its group's channel.</summary>
    public Task Publish(GroupEvent groupEvent) => Db.PublishAsync(keys.GroupEvents(groupEvent.GroupId), EventEnvelope.Payload(groupEvent));

    private string Channel(string groupId) => keys.GroupEvents(groupId).ToString();

    public async Task<IReadOnlyList<string>> PendingRecordIds() =>
        (await Db.SetMembersAsync(keys.PendingRecords)).Select(v => (string)v!).ToList();

    /// <summary>Every open record's group and the cluster member running its call, for noticing calls whose member is gone.</summary>
    public async Task<IReadOnlyList<(string RecordId, string GroupId, string Node)>> PendingRecordNodes()
    {
        var ids = await PendingRecordIds();
        var fields = await Task.WhenAll(ids.Select(id => Db.HashGetAsync(keys.Record(id), ["group_id", "node"])));
        return [.. ids.Zip(fields).Where(p => !p.Second[0].IsNull).Select(p => (p.First, (string)p.Second[0]!, (string?)p.Second[1] ?? ""))];
    }

    private async Task<IReadOnlyList<MessageResponse>> LoadMessages(RedisValue[] ids)
    {
        var hashes = await Task.WhenAll(ids.Select(id => Db.HashGetAllAsync(keys.Message((string)id!))));
        return hashes.Select(ToMessage).OfType<MessageResponse>().ToList();
    }

    private static (long Order, MemberResponse Member) ParseMember(string userId, RedisValue value)
    {
        var parts = ((string)value!).Split('|', 3);
        return (long.Parse(parts[0], CultureInfo.InvariantCulture), new MemberResponse(userId, parts[1], parts[2]));
    }

    private static UserResponse? ToUser(HashEntry[] entries)
    {
        if (entries.Length == 0) return null;
        var f = entries.ToStringDictionary();
        return new UserResponse(long.Parse(f["id"], CultureInfo.InvariantCulture), f["user_id"], f["username"], f["user_role"],
            f["created_at"], f["updated_at"]);
    }

    private static GroupResponse? ToGroup(HashEntry[] entries)
    {
        if (entries.Length == 0) return null;
        var f = entries.ToStringDictionary();
        return new GroupResponse(long.Parse(f["id"], CultureInfo.InvariantCulture), f["group_id"], f["group_name"],
            f.GetValueOrDefault("description"), f["created_by"], f["created_at"], f["updated_at"],
            f.GetValueOrDefault("ai_mode") ?? AiModes.Auto,
            f.TryGetValue("pause_after_doctor_seconds", out var pause) ? int.Parse(pause, CultureInfo.InvariantCulture) : 0);
    }

    private static MessageResponse? ToMessage(HashEntry[] entries)
    {
        if (entries.Length == 0) return null;
        var f = entries.ToStringDictionary();
        var media = f.TryGetValue("media_type", out var mediaType)
            ? new MediaInfo(f["msg_content"], mediaType, long.Parse(f["media_size"], CultureInfo.InvariantCulture),
                int.Parse(f["media_width"], CultureInfo.InvariantCulture), int.Parse(f["media_height"], CultureInfo.InvariantCulture),
                MediaInfo.UrlOf(f["msg_content"]))
            : null;
        return new MessageResponse(long.Parse(f["id"], CultureInfo.InvariantCulture), f["message_id"], f["group_id"],
            f["from_user_id"], f["msg_type"], f["msg_content"], long.Parse(f["seq"], CultureInfo.InvariantCulture),
            f["created_at"], f["updated_at"], media);
    }

    private static MediaResponse? ToMedia(HashEntry[] entries)
    {
        if (entries.Length == 0) return null;
        var f = entries.ToStringDictionary();
        return new MediaResponse(f["media_id"], f["group_id"], f["content_type"], long.Parse(f["size"], CultureInfo.InvariantCulture),
            int.Parse(f["width"], CultureInfo.InvariantCulture), int.Parse(f["height"], CultureInfo.InvariantCulture), f["sha256"],
            f["created_at"]);
    }

    private static AiInteractionResponse? ToRecord(HashEntry[] entries) => entries.Length == 0 ? null : ToRecord(entries.ToStringDictionary());

    private static AiInteractionResponse ToRecord(Dictionary<string, string> f)
    {
        return new AiInteractionResponse(long.Parse(f["id"], CultureInfo.InvariantCulture), f["record_id"], f["group_id"],
            f["user_message_id"], f.GetValueOrDefault("ai_message_id"), f["ai_service_url"],
            int.Parse(f["status"], CultureInfo.InvariantCulture),
            OptionalLong(f, "duration_ms"), f.GetValueOrDefault("error_message"), f["created_at"], f["updated_at"],
            f.GetValueOrDefault("model"), OptionalLong(f, "context_from_seq"), OptionalLong(f, "context_to_seq"),
            f.TryGetValue("attempts", out var attempts) ? int.Parse(attempts, CultureInfo.InvariantCulture) : 1,
            f.GetValueOrDefault("ai_mode") ?? AiModes.Auto, f.GetValueOrDefault("review_state"), f.GetValueOrDefault("reviewed_by"),
            f.TryGetValue("edited", out var edited) ? edited == "1" : null);
    }

    /// <summary>An open record (status 0) as its writer takes it over; records of older versions lack the context and read as empty.</summary>
    private static OpenAiRecord? ToOpenRecord(HashEntry[] entries)
    {
        if (entries.Length == 0) return null;
        var f = entries.ToStringDictionary();
        if (f.GetValueOrDefault("status") != "0") return null;
        return new OpenAiRecord(f["record_id"], f["user_message_id"], f.GetValueOrDefault("asked_by") ?? "",
            f.TryGetValue("attempts", out var attempts) ? int.Parse(attempts, CultureInfo.InvariantCulture) : 1,
            OptionalLong(f, "context_from_seq") ?? 0, OptionalLong(f, "context_to_seq") ?? 0, f.GetValueOrDefault("ai_mode") ?? AiModes.Auto);
    }

    private static long? OptionalLong(Dictionary<string, string> fields, string name) =>
        fields.TryGetValue(name, out var value) ? long.Parse(value, CultureInfo.InvariantCulture) : null;
}
