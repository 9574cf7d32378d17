using Akka.Actor;
using Im.Actors.Storage;
using Im.Contracts;

namespace Im.Actors.Queries;

/// <summary>Reads by id and pages, each replied with an <see cref="Outcome{T}"/>.</summary>
public static class Queries
{
    public sealed record GetUser(string UserId);
    public sealed record GetGroup(string GroupId);
    public sealed record GetMembers(string GroupId);
    /// <summary>Newest first; with <paramref name="AfterSeq"/>, only messages after it, oldest first (catch-up).</summary>
    public sealed record ListMessages(string GroupId, PageRequest Page, long? AfterSeq = null);
    public sealed record GetMessage(string MessageId);
    public sealed record ListAiInteractions(string GroupId, PageRequest Page);
}

/// <summary>
/// Serves reads straight from the store, one task per query piped to the asker, so reads never
/// wait behind a group's writes and never start an entity for an id that may not exist.
/// </summary>
public sealed class QueryActor : ReceiveActor
{
    private readonly ImStore _store;

    public QueryActor(ImStore store)
    {
        _store = store;
        Receive<Queries.GetUser>(q => Answer(async () =>
            await _store.GetUser(q.UserId) is { } user ? Outcome<UserResponse>.Ok(user) : Outcome<UserResponse>.Fail(Errors.UserNotFound),
            Outcome<UserResponse>.Fail));
        Receive<Queries.GetGroup>(q => Answer(async () =>
            await _store.GetGroup(q.GroupId) is { } group ? Outcome<GroupResponse>.Ok(group) : Outcome<GroupResponse>.Fail(Errors.GroupNotFound),
            Outcome<GroupResponse>.Fail));
        Receive<Queries.GetMembers>(q => Answer(async () =>
        {
            if (!await _store.GroupExists(q.GroupId)) return Outcome<MemberListResponse>.Fail(Errors.GroupNotFound);
            var members = await _store.GetMembers(q.GroupId);
            return Outcome<MemberListResponse>.Ok(new MemberListResponse(q.GroupId, members, members.Count));
        }, Outcome<MemberListResponse>.Fail));
        Receive<Queries.ListMessages>(q => Answer(async () =>
        {
            if (!await _store.GroupExists(q.GroupId)) return Outcome<MessageListResponse>.Fail(Errors.GroupNotFound);
            var (messages, total) = q.AfterSeq is { } afterSeq
                ? await _store.ListMessagesAfter(q.GroupId, afterSeq, q.Page)
                : await _store.ListMessages(q.GroupId, q.Page);
            return Outcome<MessageListResponse>.Ok(new MessageListResponse(messages, total, q.Page.Page, q.Page.PageSize));
        }, Outcome<MessageListResponse>.Fail));
        Receive<Queries.GetMessage>(q => Answer(async () =>
            await _store.GetMessage(q.MessageId) is { } message ? Outcome<MessageResponse>.Ok(message) : Outcome<MessageResponse>.Fail(Errors.MessageNotFound),
            Outcome<MessageResponse>.Fail));
        Receive<Queries.ListAiInteractions>(q => Answer(async () =>
        {
            if (!await _store.GroupExists(q.GroupId)) return Outcome<AiInteractionListResponse>.Fail(Errors.GroupNotFound);
            var (records, total) = await _store.ListRecords(q.GroupId, q.Page);
            return Outcome<AiInteractionListResponse>.Ok(new AiInteractionListResponse(records, total, q.Page.Page, q.Page.PageSize));
        }, Outcome<AiInteractionListResponse>.Fail));
    }

    public static Props Props(ImStore store) => Akka.Actor.Props.Create(() => new QueryActor(store));

    private void Answer<T>(Func<Task<T>> read, Func<ApiError, T> refuse) =>
        read().PipeTo(Sender, failure: ex => refuse(SingleWriterActor.ErrorFor(ex))!);
}
