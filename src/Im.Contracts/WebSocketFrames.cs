using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace Im.Contracts;

/// <summary>Frame types of spec section 4 and DESIGN.md.</summary>
public static class FrameTypes
{
    public const string Connected = "connected";
    public const string SendMessage = "send_message";
    public const string MessageSent = "message_sent";
    public const string AiReply = "ai_reply";
    public const string Ping = "ping";
    public const string Pong = "pong";
    public const string Error = "error";
    public const string AiState = "ai_state";
    public const string AiDelta = "ai_delta";
    public const string AiStop = "ai_stop";
    public const string GroupUpdated = "group_updated";
    public const string AiDraft = "ai_draft";
}

/// <summary>Client → server <c>send_message</c>; <c>client_msg_id</c> is optional and echoed to the sender.</summary>
public sealed record SendMessageFrame(
    [property: StringLength(Limits.IdMax, MinimumLength = 1)] string GroupId,
    [property: StringLength(Limits.ContentMax, MinimumLength = 1)] string Content,
    [property: StringLength(Limits.ClientMsgIdMax, MinimumLength = 1)] string? ClientMsgId = null,
    [property: AllowedValues(MessageTypes.Text, MessageTypes.Image)] string MsgType = MessageTypes.Text)
{
    public override string ToString() =>
        $"SendMessageFrame {{ GroupId = {GroupId}, MsgType = {MsgType}, Content = {Redact.Text(Content)}, ClientMsgId = {ClientMsgId} }}";
}

public sealed record ConnectedFrame(string UserId)
{
    public string Type => FrameTypes.Connected;
}

public sealed record PongFrame
{
    public string Type => FrameTypes.Pong;
}

/// <param name="ClientMsgId">Echoed from the frame this answers, when it carried one.</param>
/// <param name="RetryAfter">Seconds to wait, with <c>RATE_LIMITED</c>.</param>
public sealed record ErrorFrame(
    [property: AllowedValues(ErrorCodes.InvalidFrame, ErrorCodes.UnknownType, ErrorCodes.InvalidParameter, ErrorCodes.ContentEmpty,
        ErrorCodes.ContentTooLong, ErrorCodes.GroupIdEmpty, ErrorCodes.UserNotFound, ErrorCodes.NotMember, ErrorCodes.GroupNotFound,
        ErrorCodes.IdempotencyConflict, ErrorCodes.RateLimited, ErrorCodes.TooManyConnections, ErrorCodes.Unauthorized,
        ErrorCodes.Forbidden, ErrorCodes.RecordNotFound, ErrorCodes.InvalidState, ErrorCodes.ServiceUnavailable, ErrorCodes.InternalError)]
    string Code,
    string Message,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ClientMsgId = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? RetryAfter = null)
{
    public string Type => FrameTypes.Error;
}

public sealed record MessageSentFrame(
    long Id,
    long Seq,
    string MessageId,
    string GroupId,
    string FromUserId,
    [property: AllowedValues(MessageTypes.Text, MessageTypes.Image)] string MsgType,
    string Content,
    string CreatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ClientMsgId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] MediaInfo? Media = null)
{
    public string Type => FrameTypes.MessageSent;

    public static MessageSentFrame From(MessageResponse m, string? clientMsgId) =>
        new(m.Id, m.Seq, m.MessageId, m.GroupId, m.FromUserId, m.MsgType, m.MsgContent, m.CreatedAt, clientMsgId, m.Media);
}

public sealed record AiReplyFrame(
    long Id,
    long Seq,
    string MessageId,
    string GroupId,
    string FromUserId,
    [property: AllowedValues(MessageTypes.AiReply)] string MsgType,
    string Content,
    string? UserMessageId,
    string CreatedAt)
{
    public string Type => FrameTypes.AiReply;

    public static AiReplyFrame From(MessageResponse m, string? userMessageId) =>
        new(m.Id, m.Seq, m.MessageId, m.GroupId, m.FromUserId, m.MsgType, m.MsgContent, userMessageId, m.CreatedAt);
}

/// <summary>
/// Where a patient's AI reply is: <c>thinking</c> (right after the patient's <c>message_sent</c>),
/// <c>generating</c>, then <c>done</c> (after the <c>ai_reply</c>), <c>failed</c> (with the record's
/// <c>code</c>) or <c>stopped</c>.
/// </summary>
public sealed record AiStateFrame(
    string GroupId,
    string RecordId,
    string UserMessageId,
    string State,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Code = null)
{
    public string Type => FrameTypes.AiState;
}

/// <summary>A piece of the reply being generated; the pieces' texts, by <c>index</c>, concatenate to the stored reply.</summary>
public sealed record AiDeltaFrame(string GroupId, string RecordId, int Index, string Text)
{
    public string Type => FrameTypes.AiDelta;

    public override string ToString() => $"AiDeltaFrame {{ RecordId = {RecordId}, Index = {Index}, Text = {Redact.Text(Text)} }}";
}

/// <summary>Client → server <c>ai_stop</c>: stop the AI reply of a record (the patient who asked, or a DOCTOR member).</summary>
public sealed record AiStopFrame([property: StringLength(Limits.IdMax, MinimumLength = 1)] string RecordId)
{
    public string Type => FrameTypes.AiStop;
}

/// <summary>To every member when a DOCTOR member or an admin changes the group's AI settings.</summary>
public sealed record GroupUpdatedFrame(
    string GroupId,
    [property: AllowedValues(AiModes.Auto, AiModes.Review, AiModes.Off)] string AiMode,
    int PauseAfterDoctorSeconds,
    string UpdatedBy)
{
    public string Type => FrameTypes.GroupUpdated;

    public static GroupUpdatedFrame From(GroupAiResponse settings) =>
        new(settings.GroupId, settings.AiMode, settings.PauseAfterDoctorSeconds, settings.UpdatedBy);
}

/// <summary>Review mode: the AI's finished draft, to the group's DOCTOR members only.</summary>
public sealed record AiDraftFrame(string GroupId, string RecordId, string UserMessageId, string Content)
{
    public string Type => FrameTypes.AiDraft;

    public override string ToString() =>
        $"AiDraftFrame {{ GroupId = {GroupId}, RecordId = {RecordId}, UserMessageId = {UserMessageId}, Content = {Redact.Text(Content)} }}";
}
