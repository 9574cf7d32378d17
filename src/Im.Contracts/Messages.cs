namespace Im.Contracts;

public sealed record SendMessageRequest(string GroupId, string Content);

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
    string UpdatedAt);

public sealed record MessageListResponse(IReadOnlyList<MessageResponse> Messages, long Total, int Page, int PageSize);
