namespace Im.Contracts;

/// <param name="ClientMsgId">The sender's idempotency key (body field or <c>Idempotency-Key</c> header).</param>
public sealed record SendMessageRequest(string GroupId, string Content, string? ClientMsgId = null)
{
    public override string ToString() => $"SendMessageRequest {{ GroupId = {GroupId}, Content = {Redact.Text(Content)}, ClientMsgId = {ClientMsgId} }}";
}

/// <summary>
/// A stored message. <c>seq</c> is an addition to the spec: the message's position in its group,
/// 1, 2, 3, … with no gaps, so a client can order pushes and notice one it missed.
/// </summary>
public sealed record MessageResponse(
    long Id,
    string MessageId,
    string GroupId,
    string FromUserId,
    string MsgType,
    string MsgContent,
    long Seq,
    string CreatedAt,
    string UpdatedAt)
{
    public override string ToString() =>
        $"MessageResponse {{ MessageId = {MessageId}, GroupId = {GroupId}, Seq = {Seq}, MsgType = {MsgType}, MsgContent = {Redact.Text(MsgContent)} }}";
}

public sealed record MessageListResponse(IReadOnlyList<MessageResponse> Messages, long Total, int Page, int PageSize);
