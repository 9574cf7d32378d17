using System.Collections.Immutable;
using Im.Contracts;

namespace Im.Actors.Storage;

/// <summary>What a GroupActor loads when it starts: the group, who is in it with which group role, and its open AI records.</summary>
/// <param name="AiPausedUntil">The end of a pause a doctor's message started, if one was ever started.</param>
public sealed record GroupSnapshot(GroupResponse Group, ImmutableDictionary<string, string> MemberRoles, IReadOnlyList<OpenAiRecord> OpenRecords,
    DateTimeOffset? AiPausedUntil = null);

/// <summary>
/// A message to append. <paramref name="Ai"/> says what the append does to an AI interaction record;
/// <paramref name="Media"/> is the image of an IMAGE message (its content is the media id).
/// </summary>
/// <param name="PausesAiUntil">A DOCTOR member's message in a group with a pause: the AI forwards nothing until then.</param>
public sealed record NewMessage(
    string GroupId,
    string FromUserId,
    string MsgType,
    string Content,
    IReadOnlyCollection<string> Recipients,
    string? ClientMsgId,
    AiRecordChange Ai,
    MediaInfo? Media = null,
    DateTimeOffset? PausesAiUntil = null)
{
    /// <summary>The spec's integer id, from the writer's id block (<see cref="IdBlock"/>).</summary>
    public long Id { get; init; }

    /// <summary>The opened AI record's integer id, from the writer's record id block; only for <see cref="AiRecordChange.Open"/>.</summary>
    public long RecordNumber { get; init; }

    public override string ToString() =>
        $"NewMessage {{ GroupId = {GroupId}, FromUserId = {FromUserId}, MsgType = {MsgType}, Content = {Redact.Text(Content)}, Ai = {Ai} }}";
}

public abstract record AiRecordChange
{
    private AiRecordChange() { }

    public static readonly AiRecordChange None = new NoChange();

    /// <summary>
    /// The message is a patient's: open a record at status 0, attempt 1, in the same step. The
    /// context is the group's last <paramref name="ContextSize"/> messages ending with this one (a
    /// <c>seq</c> range, fixed now, so a retry sends exactly the same). <paramref name="Node"/> is the
    /// cluster member running the call (address and incarnation), so that a crash of it is noticed.
    /// </summary>
    public sealed record Open(string AiServiceUrl, string Node, string Model, int ContextSize, string AiMode) : AiRecordChange;

    /// <summary>
    /// The message is the AI's reply to <paramref name="Attempt"/> of the record: close it at status 1 in
    /// the same step, unless it is no longer that attempt, open (then nothing is stored: never two replies).
    /// </summary>
    /// <param name="ReviewedBy">Review mode: the doctor (or admin) approving the pending draft this reply is.</param>
    /// <param name="Edited">Review mode: the approved text differs from the draft.</param>
    public sealed record Complete(string RecordId, string UserMessageId, long DurationMs, int Attempt, string? ReviewedBy = null,
        bool Edited = false) : AiRecordChange;

    private sealed record NoChange : AiRecordChange;
}

/// <summary>An open record as its group's writer needs it: which attempt runs, for whom, on which context.</summary>
/// <param name="AiMode">The mode it was opened under: in review its answer becomes a draft.</param>
public sealed record OpenAiRecord(string RecordId, string UserMessageId, string AskedBy, int Attempt, long ContextFromSeq, long ContextToSeq,
    string AiMode = AiModes.Auto);

/// <param name="Replayed">The message was stored before under the same <c>client_msg_id</c>; nothing was stored now.</param>
/// <param name="OpenedRecord">The AI record the append opened, for a patient's message.</param>
public sealed record AppendedMessage(MessageResponse Message, OpenAiRecord? OpenedRecord, bool Replayed);

/// <summary>A record with what only its writer reads: who asked (the patient the reply answers).</summary>
/// <param name="Draft">Review mode: the draft while it waits for a doctor.</param>
public sealed record StoredAiRecord(AiInteractionResponse Record, string AskedBy, AiDraftResponse? Draft = null);

public enum AddMemberResult
{
    Added,
    AlreadyMember,
    NoGroup,
}

/// <summary>A message as stored, with what only an AI reply has: the patient's message it answers.</summary>
public sealed record StoredMessage(MessageResponse Message, string? UserMessageId);
