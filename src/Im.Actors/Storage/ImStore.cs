using System.Collections.Concurrent;
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
/// The whole storage plan over RESP: the same code talks to the embedded Garnet server, to one
/// Redis 7 and to a Redis Cluster (see <see cref="StoreKeys"/> for the key layout that lets it).
/// Each write that a reply acknowledges is one script, done before the reply. Reads of a page cost
/// O(log n + page): timelines are sorted sets scored by <c>seq</c> or record id.
/// </summary>
public sealed class ImStore
{
    private readonly IConnectionMultiplexer _redis;
    private readonly StoreKeys _keys;
    private readonly TimeProvider _clock;
    private readonly StoreScripts _scripts;
    private readonly IdBlock _userIds;
    private readonly IdBlock _groupIds;

    public ImStore(IConnectionMultiplexer redis, StoreKeys keys, TimeProvider clock)
    {
        _redis = redis;
        _keys = keys;
        _clock = clock;
        _scripts = StoreScripts.For(keys);
        _userIds = new IdBlock(count => Reserve(keys.UserCounter, count));
        _groupIds = new IdBlock(count => Reserve(_keys.GroupCounter, count));
    }

    private IDatabase Db => _redis.GetDatabase();

    public StoreKeys Keys => _keys;

    public DateTimeOffset Now => _clock.GetUtcNow();

    /// <summary>Ids for the messages one writer appends (see <see cref="IdBlock"/>); a new writer takes a new one.</summary>
    public IdBlock NewMessageIds() => new(count => Reserve(_keys.MessageCounter, count));

    /// <summary>Ids for the AI records one writer opens.</summary>
    public IdBlock NewRecordIds() => new(count => Reserve(_keys.RecordCounter, count));

    /// <summary>Moves a store of the layout before this one (see <see cref="KeyLayoutMigration"/>); what was moved, by kind.</summary>
    public Task<IReadOnlyDictionary<string, int>> MigrateKeyLayout() => new KeyLayoutMigration(_redis, _keys).Run();

    private async Task<long> Reserve(RedisKey counter, long count) => await Db.StringIncrementAsync(counter, count);

    public async Task<UserResponse?> CreateUser(string userId, string username, string role)
    {
        var now = Ids.FormatTime(Now);
        var id = await _userIds.Take();
        var created = (long)await Db.ScriptEvaluateAsync(_scripts.CreateUser,
            new { user = _keys.User(userId), id, user_id = userId, username, role, now });
        return created == 0 ? null : new UserResponse(id, userId, username, role, now, now);
    }

    /// <summary>Creates the user unless it exists; used for the AI assistant at start-up.</summary>
    public async Task EnsureUser(string userId, string username, string role)
    {
        if (!await Db.KeyExistsAsync(_keys.User(userId)))
            await CreateUser(userId, username, role);
    }

    public async Task<UserResponse?> GetUser(string userId) => ToUser(await Db.HashGetAllAsync(_keys.User(userId)));

    public Task<bool> UserExists(string userId) => Db.KeyExistsAsync(_keys.User(userId));

    public async Task<UserResponse?> UpdateUserRole(string userId, string role)
    {
        var updated = (long)await Db.ScriptEvaluateAsync(_scripts.UpdateUserRole,
            new { user = _keys.User(userId), role, now = Ids.FormatTime(Now) });
        return updated == 0 ? null : await GetUser(userId);
    }

    /// <summary>
    /// The group with its creator as first member. The creator's group index (a key in the user's
    /// slot, not the group's) is written before the group and undone if the group existed: the index
    /// may list a group the user is not in after a crash, never miss one the user is in.
    /// </summary>
    public async Task<GroupResponse?> CreateGroup(string groupId, string name, string? description, string createdBy)
    {
        var now = Ids.FormatTime(Now);
        var id = await _groupIds.Take();
        var indexed = await Db.SetAddAsync(_keys.UserGroups(createdBy), groupId);
        var created = (long)await Db.ScriptEvaluateAsync(_scripts.CreateGroup, new
        {
            group = _keys.Group(groupId), members = _keys.GroupMembers(groupId), id, group_id = groupId, name,
            description = description ?? "", has_description = description is null ? "0" : "1", created_by = createdBy, now,
            creator_role = UserRoles.Doctor,
        });
        if (created == 0)
        {
            if (indexed) await Db.SetRemoveAsync(_keys.UserGroups(createdBy), groupId);
            return null;
        }
        await PublishToUser(new JoinedGroup(createdBy, groupId), afterSeq: 0);
        return new GroupResponse(id, groupId, name, description, createdBy, now, now);
    }

    public async Task<GroupResponse?> GetGroup(string groupId) => ToGroup(await Db.HashGetAllAsync(_keys.Group(groupId)));

    public Task<bool> GroupExists(string groupId) => Db.KeyExistsAsync(_keys.Group(groupId));

    public async Task<GroupSnapshot?> LoadGroup(string groupId)
    {
        var groupTask = Db.HashGetAllAsync(_keys.Group(groupId));
        var membersTask = Db.HashGetAllAsync(_keys.GroupMembers(groupId));
        var openTask = Db.SetMembersAsync(_keys.GroupOpenRecords(groupId));
        var groupFields = await groupTask;
        var group = ToGroup(groupFields);
        if (group is null) return null;
        var roles = (await membersTask).ToImmutableDictionary(e => (string)e.Name!, e => ParseMember((string)e.Name!, e.Value).Member.UserRole);
        var open = await Task.WhenAll((await openTask).Select(id => Db.HashGetAllAsync(_keys.Record(groupId, (string)id!))));
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
        var set = (long)await Db.ScriptEvaluateAsync(_scripts.SetGroupAi, new
        {
            group = _keys.Group(groupId), ai_mode = aiMode, pause_seconds = pauseAfterDoctorSeconds, updated_by = updatedBy,
            now = settings.UpdatedAt, channel = Channel(groupId),
            @event = EventEnvelope.Body(new GroupAiChanged(groupId, [.. recipients], aiMode, pauseAfterDoctorSeconds, updatedBy)),
        });
        return set == 1 ? settings : null;
    }

    /// <summary>Members by join order (which is <c>joined_at</c> order, ties broken by who joined first).</summary>
    public async Task<IReadOnlyList<MemberResponse>> GetMembers(string groupId)
    {
        var entries = await Db.HashGetAllAsync(_keys.GroupMembers(groupId));
        return entries.Select(e => ParseMember((string)e.Name!, e.Value)).OrderBy(m => m.Order).Select(m => m.Member).ToList();
    }

    /// <summary>
    /// Adds the member, then says so on the user's channel with the group's last <c>seq</c> (what the
    /// user gets is what is stored after it). The user's group index is written first, as in
    /// <see cref="CreateGroup"/>.
    /// </summary>
    public async Task<AddMemberResult> AddMember(string groupId, string userId, string role)
    {
        var indexed = await Db.SetAddAsync(_keys.UserGroups(userId), groupId);
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(_scripts.AddMember, new
        {
            group = _keys.Group(groupId), members = _keys.GroupMembers(groupId), user_id = userId, role, now = Ids.FormatTime(Now),
        }))!;
        var order = (long)result[0];
        if (order < 0 && indexed) await Db.SetRemoveAsync(_keys.UserGroups(userId), groupId);
        if (order > 0) await PublishToUser(new JoinedGroup(userId, groupId), afterSeq: (long)result[1]);
        return order switch
        {
            < 0 => AddMemberResult.NoGroup,
            0 => AddMemberResult.AlreadyMember,
            _ => AddMemberResult.Added,
        };
    }

    /// <summary>
    /// Takes the user out of the group, then out of the user's group index, and says so on the user's
    /// channel; false if the user was not a member.
    /// </summary>
    public async Task<bool> RemoveMember(string groupId, string userId)
    {
        if (!await Db.HashDeleteAsync(_keys.GroupMembers(groupId), userId)) return false;
        await Db.SetRemoveAsync(_keys.UserGroups(userId), groupId);
        await PublishToUser(new LeftGroup(userId, groupId), afterSeq: 0);
        return true;
    }

    private Task PublishToUser(UserEvent userEvent, long afterSeq) =>
        Db.PublishAsync(_keys.UserEvents(userEvent.UserId), EventEnvelope.Payload(userEvent with { Seq = afterSeq }));

    /// <summary>Whether the group exists and, for a caller, the caller's role in it (null when not a member).</summary>
    public async Task<(bool Exists, string? Role)> GroupAccess(string groupId, string? userId)
    {
        var exists = Db.KeyExistsAsync(_keys.Group(groupId));
        var member = userId is null ? Task.FromResult(RedisValue.Null) : Db.HashGetAsync(_keys.GroupMembers(groupId), userId);
        var entry = await member;
        return (await exists, entry.IsNull ? null : ParseMember(userId!, entry).Member.UserRole);
    }

    /// <summary>Whether two users are members of at least one common group (from the users' group indexes).</summary>
    public async Task<bool> ShareAGroup(string userId, string otherUserId)
    {
        // Two users' indexes are in two slots: intersected here, not by the store.
        var mine = Db.SetMembersAsync(_keys.UserGroups(userId));
        var theirs = Db.SetMembersAsync(_keys.UserGroups(otherUserId));
        // The indexes may list a group a crash left them out of: each shared one is checked in its members.
        foreach (var groupId in (await mine).Intersect(await theirs))
        {
            var members = _keys.GroupMembers((string)groupId!);
            var both = await Task.WhenAll(Db.HashExistsAsync(members, userId), Db.HashExistsAsync(members, otherUserId));
            if (both[0] && both[1]) return true;
        }
        return false;
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
        if (message.Id <= 0) throw new ArgumentException("a message to append needs its id from the writer's id block", nameof(message));
        var now = Now;
        var createdAt = Ids.FormatTime(now);
        var messageId = Ids.NewMessageId(now);
        var groupId = message.GroupId;
        var open = message.Ai as AiRecordChange.Open;
        var complete = message.Ai as AiRecordChange.Complete;
        if (open is not null && message.RecordNumber <= 0)
            throw new ArgumentException("a message that opens an AI record needs the record's id from the writer's id block", nameof(message));
        var recordId = open is not null ? Ids.NewRecordId(now) : complete?.RecordId ?? "";
        var userMessageId = complete?.UserMessageId ?? "";
        // What the record's clients hear right after the message itself: the AI is thinking, or it is done.
        AiStateChanged? after = message.Ai switch
        {
            AiRecordChange.Open => new AiStateChanged(groupId, [.. message.Recipients], recordId, messageId, AiStates.Thinking),
            AiRecordChange.Complete done => new AiStateChanged(groupId, [.. message.Recipients], done.RecordId, done.UserMessageId,
                AiStates.Done),
            _ => null,
        };
        // The script writes the id and seq in front of this, in the event's envelope.
        var stored = new MessageStored(groupId, [.. message.Recipients], messageId, message.FromUserId, message.MsgType,
            message.Content, createdAt, message.Media, userMessageId == "" ? null : userMessageId, message.ClientMsgId);
        var media = message.Media;

        // The lookups by id live in the ids' own slots, so they cannot be in the script's step: they are sent first, and one
        // that names no stored message or record (the step failed or was a repeat) reads as not found.
        IReadOnlyList<Task> WriteIndexes() => open is null
            ? [Db.StringSetAsync(_keys.MessageGroup(messageId), groupId)]
            : [Db.StringSetAsync(_keys.MessageGroup(messageId), groupId), .. IndexOpenedRecord(recordId, groupId, open.Node)];
        var indexes = WriteIndexes();

        var append = Db.ScriptEvaluateAsync(_scripts.AppendMessage, new
        {
            group = _keys.Group(groupId), timeline = _keys.GroupMessages(groupId), message = _keys.Message(groupId, messageId),
            record = _keys.Record(groupId, recordId == "" ? "-" : recordId), records = _keys.GroupRecords(groupId),
            sent_once = message.ClientMsgId is { } clientMsgId ? _keys.SentOnce(groupId, message.FromUserId, clientMsgId) : _keys.SentOnce(groupId, "-", "-"),
            open_records = _keys.GroupOpenRecords(groupId), drafts = _keys.GroupDrafts(groupId), channel = Channel(groupId),
            id = message.Id, message_id = messageId, group_id = groupId, from = message.FromUserId, msg_type = message.MsgType,
            content = message.Content, now = createdAt, user_message_id = userMessageId,
            record_mode = open is not null ? "create" : complete is not null ? "complete" : "none", record_id = recordId,
            record_number = message.RecordNumber, ai_service_url = open?.AiServiceUrl ?? "", node = open?.Node ?? "",
            model = open?.Model ?? "", context_size = open?.ContextSize ?? 0, ai_mode = open?.AiMode ?? "",
            duration_ms = complete?.DurationMs ?? 0, attempt = complete?.Attempt ?? 0,
            reviewed_by = complete?.ReviewedBy ?? "", edited = complete is { Edited: true } ? "1" : "0",
            fingerprint = message.ClientMsgId is null ? "" : Fingerprint(message.MsgType, message.Content),
            window_seconds = (long)IdempotencyWindow.TotalSeconds,
            media_type = media?.ContentType ?? "", media_size = media is null ? "" : Number(media.Size),
            media_width = media is null ? "" : Number(media.Width), media_height = media is null ? "" : Number(media.Height),
            @event = EventEnvelope.Body(stored), after = after is null ? "" : EventEnvelope.Body(after),
            paused_until = message.PausesAiUntil is { } pauseEnd ? Number(pauseEnd.ToUnixTimeMilliseconds()) : "",
        });
        var result = (RedisResult[])(await append)!;
        await WriteAgainIfFailed(indexes, WriteIndexes);
        if ((long)result[0] < 0)
        {
            // Nothing was stored under the ids taken here (a repeat, a conflict, a late reply): their lookups go.
            await Db.KeyDeleteAsync(_keys.MessageGroup(messageId));
            if (open is not null) await ForgetOpenedRecord(recordId, open.Node);
        }
        switch ((long)result[0])
        {
            case -3:
                return Errors.AttemptNotOpen;
            case -2:
                return Errors.IdempotencyConflict;
            case -1:
                // The first message is stored with the key in the same step, so it is always there to read.
                var first = await GetMessage(groupId, (string)result[1]!)
                    ?? throw new InvalidOperationException("a repeated client_msg_id names no message");
                return new AppendedMessage(first, null, Replayed: true);
        }
        if (complete is not null && (string?)result[3] is { } ranOn)
            await Db.HashDeleteAsync(_keys.NodeRecords(ranOn), complete.RecordId);
        var appended = new MessageResponse(message.Id, messageId, groupId, message.FromUserId, message.MsgType,
            message.Content, (long)result[1], createdAt, createdAt, message.Media);
        var opened = open is not null
            ? new OpenAiRecord(recordId, messageId, message.FromUserId, 1, (long)result[2], appended.Seq, open.AiMode)
            : null;
        return new AppendedMessage(appended, opened, Replayed: false);
    }

    /// <summary>
    /// Where a record opened now is found by id alone (its group), and which node runs its call (so
    /// that when the node is gone the survivors find it: <see cref="OrphanedRecordGroups"/>).
    /// </summary>
    private IEnumerable<Task> IndexOpenedRecord(string recordId, string groupId, string node) =>
    [
        Db.StringSetAsync(_keys.RecordGroup(recordId), groupId),
        ListRecordNode(node),
        Db.HashSetAsync(_keys.NodeRecords(node), recordId, groupId),
    ];

    // The nodes this process has listed in records:nodes: each is listed once it succeeded, not once per call;
    // a listing that failed (the store was away) is tried again by the next call.
    private readonly ConcurrentDictionary<string, bool> _listedRecordNodes = new();

    private async Task ListRecordNode(string node)
    {
        if (_listedRecordNodes.ContainsKey(node)) return;
        await Db.SetAddAsync(_keys.RecordNodes, node);
        _listedRecordNodes.TryAdd(node, true);
    }

    private Task ForgetOpenedRecord(string recordId, string node) =>
        Task.WhenAll(Db.KeyDeleteAsync(_keys.RecordGroup(recordId)), Db.HashDeleteAsync(_keys.NodeRecords(node), recordId));

    /// <summary>Index writes sent beside a step that stored: one that failed is written again, so what is stored is found.</summary>
    private static async Task WriteAgainIfFailed(IReadOnlyList<Task> writes, Func<IReadOnlyList<Task>> again)
    {
        try
        {
            await Task.WhenAll(writes);
        }
        catch (Exception) when (writes.Any(w => w.IsFaulted))
        {
            await Task.WhenAll(again());
        }
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
        await Db.ScriptEvaluateAsync(_scripts.StoreMedia, new
        {
            media = _keys.Media(media.MediaId), bytes_key = _keys.MediaBytes(media.MediaId), media_id = media.MediaId, group_id = groupId,
            uploaded_by = uploaderId, content_type = contentType, size = media.Size, width, height, sha256, now = media.CreatedAt, bytes,
        });
        return media;
    }

    public async Task<MediaResponse?> GetMedia(string mediaId) => ToMedia(await Db.HashGetAllAsync(_keys.Media(mediaId)));

    public async Task<byte[]?> GetMediaBytes(string mediaId) => await Db.StringGetAsync(_keys.MediaBytes(mediaId));

    /// <summary>A message by its id alone: its group from the id's lookup, then the message.</summary>
    public async Task<MessageResponse?> GetMessage(string messageId) =>
        await Db.StringGetAsync(_keys.MessageGroup(messageId)) is { IsNull: false } groupId ? await GetMessage(groupId!, messageId) : null;

    public async Task<MessageResponse?> GetMessage(string groupId, string messageId) =>
        ToMessage(await Db.HashGetAllAsync(_keys.Message(groupId, messageId)));

    /// <summary>A page of the group's messages, newest first by <c>seq</c>.</summary>
    public async Task<(IReadOnlyList<MessageResponse> Messages, long Total)> ListMessages(string groupId, PageRequest page)
    {
        var timeline = _keys.GroupMessages(groupId);
        var totalTask = Db.SortedSetLengthAsync(timeline);
        var ids = await Db.SortedSetRangeByRankAsync(timeline, page.Skip, page.Skip + page.PageSize - 1, Order.Descending);
        return (await LoadMessages(groupId, ids), await totalTask);
    }

    /// <summary>A page of the group's messages with <c>seq</c> greater than <paramref name="afterSeq"/>, oldest first.</summary>
    public async Task<(IReadOnlyList<MessageResponse> Messages, long Total)> ListMessagesAfter(string groupId, long afterSeq, PageRequest page)
    {
        var timeline = _keys.GroupMessages(groupId);
        var totalTask = Db.SortedSetLengthAsync(timeline);
        var ids = await Db.SortedSetRangeByScoreAsync(timeline, afterSeq, double.PositiveInfinity, Exclude.Start, Order.Ascending,
            page.Skip, page.PageSize);
        return (await LoadMessages(groupId, ids), await totalTask);
    }

    /// <summary>
    /// Up to <paramref name="max"/> of the group's messages with <c>seq</c> greater than <paramref name="afterSeq"/>,
    /// oldest first, as they are pushed (an AI reply with the patient's message it answers): what a late reader missed.
    /// </summary>
    public async Task<IReadOnlyList<StoredMessage>> MessagesAfter(string groupId, long afterSeq, int max)
    {
        var ids = await Db.SortedSetRangeByScoreAsync(_keys.GroupMessages(groupId), afterSeq, double.PositiveInfinity, Exclude.Start,
            Order.Ascending, 0, max);
        var hashes = await Task.WhenAll(ids.Select(id => Db.HashGetAllAsync(_keys.Message(groupId, (string)id!))));
        return [.. hashes.Where(fields => fields.Length > 0).Select(fields => new StoredMessage(ToMessage(fields)!,
            fields.FirstOrDefault(field => field.Name == "user_message_id").Value is { IsNull: false } asked ? (string?)asked : null))];
    }

    /// <summary>The groups the user is a member of (the user's group index).</summary>
    public async Task<IReadOnlyList<string>> UserGroupIds(string userId) =>
        [.. (await Db.SetMembersAsync(_keys.UserGroups(userId))).Select(id => (string)id!)];

    /// <summary>The group's messages with <c>seq</c> from <paramref name="fromSeq"/> to <paramref name="toSeq"/>, oldest first: an AI call's context.</summary>
    public async Task<IReadOnlyList<MessageResponse>> MessagesInRange(string groupId, long fromSeq, long toSeq) =>
        await LoadMessages(groupId, await Db.SortedSetRangeByScoreAsync(_keys.GroupMessages(groupId), fromSeq, toSeq, Exclude.None, Order.Ascending));

    /// <summary>A record by its id alone: its group from the id's lookup, then the record.</summary>
    public async Task<AiInteractionResponse?> GetRecord(string recordId) =>
        await RecordGroup(recordId) is { } groupId ? ToRecord(await Db.HashGetAllAsync(_keys.Record(groupId, recordId))) : null;

    /// <summary>The record and who asked, for its writer's decisions; records of older versions name nobody.</summary>
    public async Task<StoredAiRecord?> GetStoredRecord(string groupId, string recordId)
    {
        var entries = await Db.HashGetAllAsync(_keys.Record(groupId, recordId));
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
        long durationMs, IEnumerable<string> doctors, IEnumerable<string> others)
    {
        var ranOn = await Db.ScriptEvaluateAsync(_scripts.StoreDraft, new
        {
            record = _keys.Record(groupId, recordId), open_records = _keys.GroupOpenRecords(groupId), drafts = _keys.GroupDrafts(groupId),
            channel = Channel(groupId), attempt, draft, duration_ms = durationMs, now = Ids.FormatTime(Now), record_id = recordId,
            for_doctors = EventEnvelope.Payload(new AiDraftWritten(groupId, [.. doctors], recordId, userMessageId, draft) { Seq = userSeq }),
            for_others = EventEnvelope.Payload(new AiStateChanged(groupId, [.. others], recordId, userMessageId, AiStates.InReview) { Seq = userSeq }),
        });
        return await CallEnded(recordId, ranOn);
    }

    /// <summary>Review mode: closes a pending draft as <c>4005: rejected</c> and says so to the group; false if none is pending.</summary>
    public async Task<bool> RejectDraft(string groupId, string recordId, string userMessageId, long userSeq, string reviewedBy,
        IEnumerable<string> recipients) =>
        (long)await Db.ScriptEvaluateAsync(_scripts.RejectDraft, new
        {
            record = _keys.Record(groupId, recordId), drafts = _keys.GroupDrafts(groupId), channel = Channel(groupId),
            reviewed_by = reviewedBy, now = Ids.FormatTime(Now), record_id = recordId,
            @event = EventEnvelope.Payload(new AiStateChanged(groupId, [.. recipients], recordId, userMessageId, AiStates.Rejected,
                ErrorCodes.AiRejected) { Seq = userSeq }),
        }) == 1;

    /// <summary>Review mode: the group's records whose draft waits for a doctor, newest first.</summary>
    public async Task<(IReadOnlyList<AiInteractionResponse> Records, long Total)> ListPendingDrafts(string groupId, PageRequest page)
    {
        var totalTask = Db.SortedSetLengthAsync(_keys.GroupDrafts(groupId));
        var ids = await Db.SortedSetRangeByRankAsync(_keys.GroupDrafts(groupId), page.Skip, page.Skip + page.PageSize - 1, Order.Descending);
        var records = await Task.WhenAll(ids.Select(id => Db.HashGetAllAsync(_keys.Record(groupId, (string)id!))));
        return (records.Select(ToRecord).OfType<AiInteractionResponse>().ToList(), await totalTask);
    }

    /// <summary>The group a record belongs to, which routes a stop or a retry to the group's writer; null for no such record.</summary>
    public async Task<string?> RecordGroup(string recordId) => await Db.StringGetAsync(_keys.RecordGroup(recordId));

    /// <summary>A page of the group's AI interaction records, newest first.</summary>
    public async Task<(IReadOnlyList<AiInteractionResponse> Records, long Total)> ListRecords(string groupId, PageRequest page)
    {
        var index = _keys.GroupRecords(groupId);
        var totalTask = Db.SortedSetLengthAsync(index);
        var ids = await Db.SortedSetRangeByRankAsync(index, page.Skip, page.Skip + page.PageSize - 1, Order.Descending);
        var records = await Task.WhenAll(ids.Select(id => Db.HashGetAllAsync(_keys.Record(groupId, (string)id!))));
        return (records.Select(ToRecord).OfType<AiInteractionResponse>().ToList(), await totalTask);
    }

    /// <summary>
    /// Closes an open record without a reply (failed, stopped, interrupted) and publishes
    /// <paramref name="state"/> in the same step. With an <paramref name="attempt"/>, only while that
    /// attempt is the open one. False if it was not open.
    /// </summary>
    public async Task<bool> CloseRecord(string recordId, int? attempt, string errorMessage, long? durationMs, AiStateChanged state)
    {
        var ranOn = await Db.ScriptEvaluateAsync(_scripts.CloseRecord, new
        {
            record = _keys.Record(state.GroupId, recordId), open_records = _keys.GroupOpenRecords(state.GroupId), channel = Channel(state.GroupId),
            attempt = attempt is { } a ? Number(a) : "", error_message = errorMessage, duration_ms = durationMs is { } ms ? Number(ms) : "",
            now = Ids.FormatTime(Now), record_id = recordId, @event = EventEnvelope.Payload(state),
        });
        return await CallEnded(recordId, ranOn);
    }

    /// <summary>
    /// A script that ended a record's call answers the node that ran it (an integer 0 when it changed
    /// nothing): the record leaves that node's list.
    /// </summary>
    private async Task<bool> CallEnded(string recordId, RedisResult ranOn)
    {
        if (ranOn.Resp2Type == ResultType.Integer) return false;
        if ((string?)ranOn is { } node) await Db.HashDeleteAsync(_keys.NodeRecords(node), recordId);
        return true;
    }

    /// <summary>Opens a record closed without a reply for one more attempt, on the same context; null if it was not so closed.</summary>
    public async Task<int?> ReopenRecord(string groupId, string recordId, string userMessageId, long userSeq, string node, string aiMode,
        IEnumerable<string> recipients)
    {
        await Task.WhenAll(IndexOpenedRecord(recordId, groupId, node));
        var attempt = (long)await Db.ScriptEvaluateAsync(_scripts.ReopenRecord, new
        {
            record = _keys.Record(groupId, recordId), open_records = _keys.GroupOpenRecords(groupId), channel = Channel(groupId),
            now = Ids.FormatTime(Now), node, ai_mode = aiMode, record_id = recordId,
            @event = EventEnvelope.Payload(new AiStateChanged(groupId, [.. recipients], recordId, userMessageId, AiStates.Thinking) { Seq = userSeq }),
        });
        if (attempt < 0) await Db.HashDeleteAsync(_keys.NodeRecords(node), recordId);
        return attempt < 0 ? null : (int)attempt;
    }

    /// <summary>Publishes an event that is not stored (an AI reply's progress) on its group's channel.</summary>
    public Task Publish(GroupEvent groupEvent) => Db.PublishAsync(_keys.GroupEvents(groupEvent.GroupId), EventEnvelope.Payload(groupEvent));

    // A script's channel argument is a key: on a Redis Cluster a shard channel is checked against the script's slot like one.
    private RedisKey Channel(string groupId) => (string)_keys.GroupEvents(groupId)!;

    /// <summary>Every record whose call runs (or ran, on a node that is gone) on some node, with its group and that node.</summary>
    public async Task<IReadOnlyList<(string RecordId, string GroupId, string Node)>> PendingRecordNodes()
    {
        var nodes = await Db.SetMembersAsync(_keys.RecordNodes);
        var byNode = await Task.WhenAll(nodes.Select(async node => (Node: (string)node!, Records: await Db.HashGetAllAsync(_keys.NodeRecords((string)node!)))));
        return [.. byNode.SelectMany(n => n.Records.Select(r => ((string)r.Name!, (string)r.Value!, n.Node)))];
    }

    public async Task<IReadOnlyList<string>> PendingRecordIds() => [.. (await PendingRecordNodes()).Select(r => r.RecordId)];

    /// <summary>
    /// The groups with a record still open whose call ran on a node not in <paramref name="liveNodes"/>.
    /// What such a node lists but is no longer open is taken off its list, and a gone node with nothing
    /// left is forgotten.
    /// </summary>
    public async Task<IReadOnlyCollection<string>> OrphanedRecordGroups(IReadOnlySet<string> liveNodes)
    {
        var groups = new HashSet<string>();
        foreach (var node in (await Db.SetMembersAsync(_keys.RecordNodes)).Select(n => (string)n!).Where(n => !liveNodes.Contains(n)))
        {
            var listed = await Db.HashGetAllAsync(_keys.NodeRecords(node));
            foreach (var entry in listed)
            {
                var (recordId, groupId) = ((string)entry.Name!, (string)entry.Value!);
                var fields = await Db.HashGetAsync(_keys.Record(groupId, recordId), ["status", "node"]);
                if ((string?)fields[0] == "0" && (string?)fields[1] == node) groups.Add(groupId);
                else await Db.HashDeleteAsync(_keys.NodeRecords(node), recordId);
            }
            if (listed.Length == 0) await Db.SetRemoveAsync(_keys.RecordNodes, node);
        }
        return groups;
    }

    private async Task<IReadOnlyList<MessageResponse>> LoadMessages(string groupId, RedisValue[] ids)
    {
        var hashes = await Task.WhenAll(ids.Select(id => Db.HashGetAllAsync(_keys.Message(groupId, (string)id!))));
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
