using System.Collections.Immutable;
using Im.Contracts;

namespace Im.Actors.Storage;

/// <summary>What a GroupActor loads when it starts: the group and who is in it with which group role.</summary>
public sealed record GroupSnapshot(GroupResponse Group, ImmutableDictionary<string, string> MemberRoles);

/// <summary>
/// A message to append. <paramref name="Ai"/> says what the append does to an AI interaction record;
/// <paramref name="Media"/> is the image of an IMAGE message (its content is the media id).
/// </summary>
public sealed record NewMessage(
    string GroupId,
    string FromUserId,
    string MsgType,
    string Content,
    IReadOnlyCollection<string> Recipients,
    string? ClientMsgId,
    AiRecordChange Ai,
    MediaInfo? Media = null)
{
    public override string ToString() =>
        $"NewMessage {{ GroupId = {GroupId}, FromUserId = {FromUserId}, MsgType = {MsgType}, Content = {Redact.Text(Content)}, Ai = {Ai} }}";
}

public abstract record AiRecordChange
{
    private AiRecordChange() { }

    public static readonly AiRecordChange None = new NoChange();

    /// <summary>
    /// The message is a patient's: open a record at status 0 in the same step. <paramref name="Node"/>
    /// is the cluster member (address and incarnation) whose AI router takes it, so that the record
    /// can be closed if that member dies with the call in flight.
    /// </summary>
    public sealed record Open(string AiServiceUrl, string Node = "") : AiRecordChange;

    /// <summary>The message is the AI's reply: close the record at status 1 in the same step.</summary>
    public sealed record Complete(string RecordId, string UserMessageId, long DurationMs) : AiRecordChange;

    private sealed record NoChange : AiRecordChange;
}

/// <param name="Replayed">The message was stored before under the same <c>client_msg_id</c>; nothing was stored now.</param>
public sealed record AppendedMessage(MessageResponse Message, string? OpenedRecordId, bool Replayed);

/// <summary>
/// The fan-out event, as published on the events channel: the stored message exactly as REST
/// answers it, who it goes to, and what only frames carry (the sender's <c>client_msg_id</c>, an AI
/// reply's <c>user_message_id</c>).
/// </summary>
public sealed record StoredEvent(IReadOnlyList<string> Recipients, string? ClientMsgId, MessageResponse Message, string? UserMessageId);

public enum AddMemberResult
{
    Added,
    AlreadyMember,
    NoGroup,
}
