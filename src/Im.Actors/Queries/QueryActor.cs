using Akka.Actor;
using Im.Actors.Storage;
using Im.Contracts;

namespace Im.Actors.Queries;

/// <summary>
/// Reads by id and pages, each replied with the <see cref="Outcome{T}"/> it names. <c>Caller</c> is
/// who asks; the read is refused (403) unless <see cref="Access"/> allows it.
/// </summary>
public static class Queries
{
    public sealed record GetUser(string UserId, Caller Caller) : IRepliedWith<UserResponse>;
    public sealed record GetGroup(string GroupId, Caller Caller) : IRepliedWith<GroupResponse>;
    public sealed record GetMembers(string GroupId, Caller Caller) : IRepliedWith<MemberListResponse>;

    /// <summary>Newest first; with <paramref name="AfterSeq"/>, only messages after it, oldest first (catch-up).</summary>
    public sealed record ListMessages(string GroupId, PageRequest Page, long? AfterSeq, Caller Caller) : IRepliedWith<MessageListResponse>;

    public sealed record GetMessage(string MessageId, Caller Caller) : IRepliedWith<MessageResponse>;
    /// <param name="PendingDraftsOnly">Review mode: only the records whose draft waits for a doctor.</param>
    public sealed record ListAiInteractions(string GroupId, PageRequest Page, Caller Caller, bool PendingDraftsOnly = false)
        : IRepliedWith<AiInteractionListResponse>;

    /// <summary>
    /// For authentication only: is a token's subject a user? Not a read a caller makes, so it takes
    /// no caller; it answers the user (2001 when there is none).
    /// </summary>
    public sealed record FindTokenSubject(string UserId) : IRepliedWith<UserResponse>;

    /// <summary>
    /// A stop, a retry or a review names a record, but only its group's writer may decide it: the
    /// record's group is read from the store and the command goes to that writer, which answers the
    /// asker itself; a record that does not exist is answered 404 <c>RECORD_NOT_FOUND</c>.
    /// </summary>
    public sealed record ToRecordWriter<T>(string RecordId, Func<string, IRepliedWith<T>> Command) : IRepliedWith<T>, IToRecordWriter, ILocalOnly
        where T : class
    {
        object IToRecordWriter.For(string groupId) => Command(groupId);
    }

    /// <summary>What the actor needs of a <see cref="ToRecordWriter{T}"/>, whatever its reply type.</summary>
    public interface IToRecordWriter : IRefusable
    {
        string RecordId { get; }

        object For(string groupId);
    }
}

/// <summary>
/// Serves reads straight from the store, one task per query piped to the asker, so reads never
/// wait behind a group's writes and never start an entity for an id that may not exist. Group
/// membership for the access check comes from the store, read in the same round trip as the
/// group's existence, so a member who was just removed is refused at once.
/// </summary>
public sealed class QueryActor : ReceiveActor
{
    private readonly ImStore _store;
    private readonly IActorRef _groups;

    /// <param name="groups">The group shard region, for the commands that name only a record.</param>
    public QueryActor(ImStore store, IActorRef groups)
    {
        _store = store;
        _groups = groups;
        Receive<Queries.IToRecordWriter>(command =>
        {
            var asker = Sender;
            _store.RecordGroup(command.RecordId).PipeTo(Self,
                success: groupId => new RecordGroupRead(command, asker, groupId, null),
                failure: ex => new RecordGroupRead(command, asker, null, ex));
        });
        Receive<RecordGroupRead>(read =>
        {
            if (read.Failure is { } failure) read.Asker.Tell(read.Command.Refuse(Errors.For(failure)));
            else if (read.GroupId is not { } groupId) read.Asker.Tell(read.Command.Refuse(Errors.RecordNotFound));
            else _groups.Tell(read.Command.For(groupId), read.Asker);
        });
        Receive<Queries.GetUser>(q => Answer(q, async () =>
        {
            if (!await q.Caller.MayReadUser(q.UserId, self => _store.ShareAGroup(self, q.UserId))) return Errors.Forbidden;
            return await _store.GetUser(q.UserId) is { } user ? user : Errors.UserNotFound;
        }));
        Receive<Queries.FindTokenSubject>(q => Answer(q, async () =>
            await _store.GetUser(q.UserId) is { } user ? user : Errors.UserNotFound));
        Receive<Queries.GetGroup>(q => Answer(q, () => ReadGroup<GroupResponse>(q.GroupId, q.Caller, async () =>
            await _store.GetGroup(q.GroupId) is { } group ? group : Errors.GroupNotFound)));
        Receive<Queries.GetMembers>(q => Answer(q, () => ReadGroup<MemberListResponse>(q.GroupId, q.Caller, async () =>
        {
            var members = await _store.GetMembers(q.GroupId);
            return new MemberListResponse(q.GroupId, members, members.Count);
        })));
        Receive<Queries.ListMessages>(q => Answer(q, () => ReadGroup<MessageListResponse>(q.GroupId, q.Caller, async () =>
        {
            var (messages, total) = q.AfterSeq is { } afterSeq
                ? await _store.ListMessagesAfter(q.GroupId, afterSeq, q.Page)
                : await _store.ListMessages(q.GroupId, q.Page);
            return new MessageListResponse(messages, total, q.Page.Page, q.Page.PageSize);
        })));
        Receive<Queries.GetMessage>(q => Answer(q, async () =>
        {
            if (await _store.GetMessage(q.MessageId) is not { } message) return Errors.MessageNotFound;
            return await ReadGroup(message.GroupId, q.Caller, () => Task.FromResult<Outcome<MessageResponse>>(message));
        }));
        Receive<Queries.ListAiInteractions>(q => Answer(q, () => ReadGroup<AiInteractionListResponse>(q.GroupId, q.Caller, async () =>
        {
            var (records, total) = q.PendingDraftsOnly ? await _store.ListPendingDrafts(q.GroupId, q.Page) : await _store.ListRecords(q.GroupId, q.Page);
            return new AiInteractionListResponse(records, total, q.Page.Page, q.Page.PageSize);
        })));
    }

    public static Props Props(ImStore store, IActorRef groups) => Akka.Actor.Props.Create(() => new QueryActor(store, groups));

    /// <summary>3001 for an unknown group, then 403 unless the caller may read it, then the read.</summary>
    private async Task<Outcome<T>> ReadGroup<T>(string groupId, Caller caller, Func<Task<Outcome<T>>> read) where T : class
    {
        var (exists, callerRole) = await _store.GroupAccess(groupId, caller.UserId);
        if (!exists) return Errors.GroupNotFound;
        if (!caller.MayReadGroup(callerRole)) return Errors.Forbidden;
        return await read();
    }

    private void Answer<T>(IRepliedWith<T> query, Func<Task<Outcome<T>>> read) where T : class =>
        read().PipeTo(Sender, failure: ex => query.Refuse(Errors.For(ex)));

    private sealed record RecordGroupRead(Queries.IToRecordWriter Command, IActorRef Asker, string? GroupId, Exception? Failure) : ILocalOnly;
}
