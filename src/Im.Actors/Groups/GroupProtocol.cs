using Im.Actors.Ai;
using Im.Contracts;

namespace Im.Actors.Groups;

/// <summary>Messages for a group's entity carry its id: the shard key.</summary>
public interface IWithGroupId
{
    string GroupId { get; }
}

/// <summary>What a GroupActor is asked to do. Each reply is the <see cref="Outcome{T}"/> the command names.</summary>
public static class GroupCommands
{
    /// <summary>The creator joins as DOCTOR (spec 2.2.1); <paramref name="Caller"/> must be allowed to create it (see <see cref="Access"/>).</summary>
    public sealed record CreateGroup(string GroupId, string GroupName, string? Description, string CreatedBy, Caller Caller)
        : IWithGroupId, IRepliedWith<GroupResponse>
    {
        /// <summary>The command for a valid request, with a new id; who creates it depends on the caller.</summary>
        public static Outcome<CreateGroup> For(CreateGroupRequest request, Caller caller)
        {
            var creator = caller.CreatorOf(request.CreatedBy);
            return creator.Error is { } refused
                ? refused
                : new CreateGroup(Storage.Ids.NewGroupId(DateTimeOffset.UtcNow), request.GroupName, request.Description, creator.Value!, caller);
        }
    }

    public sealed record AddMember(string GroupId, string UserId, string UserRole, Caller Caller)
        : IWithGroupId, IRepliedWith<AddMemberResponse>;

    /// <summary>Takes a member out: later messages are not pushed to them and their sends are refused.</summary>
    public sealed record RemoveMember(string GroupId, string UserId, Caller Caller) : IWithGroupId, IRepliedWith<SuccessResponse>;

    /// <summary>
    /// Replied once the message is in the store, or with the message its <paramref name="ClientMsgId"/>
    /// stored before. For <c>IMAGE</c>, <paramref name="Content"/> is a media id of this group.
    /// </summary>
    public sealed record SendMessage(string GroupId, string SenderId, string Content, string? ClientMsgId, string MsgType = MessageTypes.Text)
        : IWithGroupId, IRepliedWith<SentMessage>
    {
        public override string ToString() =>
            $"SendMessage {{ GroupId = {GroupId}, SenderId = {SenderId}, MsgType = {MsgType}, Content = {Redact.Text(Content)}, ClientMsgId = {ClientMsgId} }}";
    }

    /// <summary>
    /// Set how the group's AI answers: a DOCTOR member or an admin. Replied with the settings as
    /// stored; every member gets <c>group_updated</c>. Open records keep the mode they were opened under.
    /// </summary>
    public sealed record SetGroupAi(string GroupId, SetGroupAiRequest Settings, Caller Caller) : IWithGroupId, IRepliedWith<GroupAiResponse>;

    /// <summary>
    /// Stop the AI reply of a record: the patient who asked, a DOCTOR member or an admin (see <see cref="Access"/>).
    /// Replied with the record as it is after the stop.
    /// </summary>
    public sealed record StopAiReply(string GroupId, string RecordId, Caller Caller) : IWithGroupId, IRepliedWith<AiInteractionResponse>;

    /// <summary>Another attempt of a failed or stopped record, on the same context: a DOCTOR member or an admin.</summary>
    public sealed record RetryAiReply(string GroupId, string RecordId, Caller Caller) : IWithGroupId, IRepliedWith<AiInteractionResponse>;

    /// <summary>Review mode: store the pending draft, or <paramref name="Content"/> instead, as the AI_REPLY. Replied with that message.</summary>
    public sealed record ApproveDraft(string GroupId, string RecordId, string? Content, Caller Caller) : IWithGroupId, IRepliedWith<MessageResponse>
    {
        public override string ToString() =>
            $"ApproveDraft {{ GroupId = {GroupId}, RecordId = {RecordId}, Content = {(Content is null ? "the draft" : Redact.Text(Content))} }}";
    }

    /// <summary>Review mode: close the record without a reply (<c>4005: rejected</c>). Replied with the record.</summary>
    public sealed record RejectDraft(string GroupId, string RecordId, Caller Caller) : IWithGroupId, IRepliedWith<AiInteractionResponse>;

    /// <summary>Review mode: the pending draft's text, for the group's doctors and admins.</summary>
    public sealed record GetDraft(string GroupId, string RecordId, Caller Caller) : IWithGroupId, IRepliedWith<AiDraftResponse>;

    /// <summary>
    /// From the node's AI pipeline: how an attempt of a record ended. Its writer stores the reply or
    /// closes the record, unless that attempt is no longer the open one. Sent only within a node.
    /// </summary>
    public sealed record AiAnswered(string GroupId, string RecordId, int Attempt, AiCallResult Result) : IWithGroupId, ILocalOnly
    {
        public override string ToString() => $"AiAnswered {{ GroupId = {GroupId}, RecordId = {RecordId}, Attempt = {Attempt}, Result = {Result.GetType().Name} }}";
    }

    /// <summary>
    /// From the record janitor: a record of this group is open on a cluster member that is gone. Starting
    /// the group's writer is the whole point: a writer that starts closes the open records it finds.
    /// </summary>
    public sealed record WakeForOrphanedRecords(string GroupId) : IWithGroupId;
}

/// <param name="Replayed">
/// True when <c>client_msg_id</c> had already stored this message: nothing was stored or pushed now,
/// so a WebSocket sender gets the <c>message_sent</c> on its own connection instead.
/// </param>
public sealed record SentMessage(MessageResponse Message, bool Replayed);
