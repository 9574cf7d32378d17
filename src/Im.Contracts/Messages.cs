using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace Im.Contracts;

/// <param name="MsgType"><c>TEXT</c>, or <c>IMAGE</c> with a <c>media_id</c> of the same group as <paramref name="Content"/>.</param>
/// <param name="ClientMsgId">The sender's idempotency key (body field or <c>Idempotency-Key</c> header).</param>
public sealed record SendMessageRequest(
    [property: StringLength(Limits.IdMax, MinimumLength = 1)] string GroupId,
    [property: StringLength(Limits.ContentMax, MinimumLength = 1)] string Content,
    [property: StringLength(Limits.ClientMsgIdMax, MinimumLength = 1)] string? ClientMsgId = null,
    [property: AllowedValues(MessageTypes.Text, MessageTypes.Image)] string MsgType = MessageTypes.Text)
{
    public override string ToString() =>
        $"SendMessageRequest {{ GroupId = {GroupId}, MsgType = {MsgType}, Content = {Redact.Text(Content)}, ClientMsgId = {ClientMsgId} }}";
}

/// <summary>
/// A stored message. <c>seq</c> is an addition to the spec: the message's position in its group,
/// 1, 2, 3, … with no gaps, so a client can order pushes and notice one it missed. An IMAGE
/// message's content is its <c>media_id</c>, and it adds <c>media</c>; other messages have none.
/// </summary>
public sealed record MessageResponse(
    long Id,
    string MessageId,
    string GroupId,
    string FromUserId,
    [property: AllowedValues(MessageTypes.Text, MessageTypes.Image, MessageTypes.AiReply)] string MsgType,
    string MsgContent,
    long Seq,
    string CreatedAt,
    string UpdatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] MediaInfo? Media = null)
{
    public override string ToString() =>
        $"MessageResponse {{ MessageId = {MessageId}, GroupId = {GroupId}, Seq = {Seq}, MsgType = {MsgType}, MsgContent = {Redact.Text(MsgContent)} }}";
}

public sealed record MessageListResponse(IReadOnlyList<MessageResponse> Messages, long Total, int Page, int PageSize);
