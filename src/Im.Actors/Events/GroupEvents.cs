using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Im.Actors.Storage;
using Im.Contracts;

namespace Im.Actors.Events;

/// <summary>
/// What happened in a group, as it travels from the store's atomic step to the nodes whose sockets
/// need it: on the group's own channel, so a node reads only the groups its sockets are in. Each
/// event carries its group and a <see cref="Seq"/>: a stored message its own, any other event the
/// <c>seq</c> of the message it follows (an AI reply's states and pieces follow the patient's
/// message). A node turns an event into frame JSON once (<see cref="Frame"/>), however many of its
/// sockets get it. The frames are the wire's; the events are not, and may change with the code.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "event")]
[JsonDerivedType(typeof(MessageStored), "message")]
[JsonDerivedType(typeof(AiStateChanged), "ai_state")]
[JsonDerivedType(typeof(AiPieceWritten), "ai_delta")]
[JsonDerivedType(typeof(AiDraftWritten), "ai_draft")]
[JsonDerivedType(typeof(GroupAiChanged), "group_updated")]
public abstract record GroupEvent(string GroupId, IReadOnlyList<string> Recipients)
{
    /// <summary>Not in the event's JSON: the envelope carries it, since for a message only the store's step knows it.</summary>
    [JsonIgnore]
    public long Seq { get; init; }

    /// <summary>The frame every recipient gets.</summary>
    public abstract object Frame();

    /// <summary>The frame for <paramref name="userId"/> when it differs from <see cref="Frame"/> (the sender's echo), else null.</summary>
    public virtual object? FrameFor(string userId) => null;
}

/// <summary>
/// A message was stored: <c>message_sent</c>, or <c>ai_reply</c> for the AI's. Its <see cref="Id"/>
/// and <see cref="GroupEvent.Seq"/> are taken in the store's step and come in the envelope.
/// </summary>
/// <param name="UserMessageId">An AI reply: the patient's message it answers.</param>
/// <param name="ClientMsgId">The sender's <c>client_msg_id</c>, echoed to the sender's own connections only.</param>
public sealed record MessageStored(
    string GroupId,
    IReadOnlyList<string> Recipients,
    string MessageId,
    string FromUserId,
    string MsgType,
    string Content,
    string CreatedAt,
    MediaInfo? Media,
    string? UserMessageId,
    string? ClientMsgId) : GroupEvent(GroupId, Recipients)
{
    [JsonIgnore]
    public long Id { get; init; }

    [JsonIgnore]
    public MessageResponse Message => new(Id, MessageId, GroupId, FromUserId, MsgType, Content, Seq, CreatedAt, CreatedAt, Media);

    public override object Frame() => MsgType == MessageTypes.AiReply
        ? AiReplyFrame.From(Message, UserMessageId)
        : MessageSentFrame.From(Message, null);

    public override object? FrameFor(string userId) =>
        ClientMsgId is { } clientMsgId && userId == FromUserId && MsgType != MessageTypes.AiReply
            ? MessageSentFrame.From(Message, clientMsgId)
            : null;

    /// <summary>A message read back from the store (a catch-up), for <paramref name="recipients"/>.</summary>
    public static MessageStored From(StoredMessage stored, IReadOnlyList<string> recipients)
    {
        var m = stored.Message;
        return new MessageStored(m.GroupId, recipients, m.MessageId, m.FromUserId, m.MsgType, m.MsgContent, m.CreatedAt, m.Media,
            stored.UserMessageId, null) { Id = m.Id, Seq = m.Seq };
    }

    public override string ToString() =>
        $"MessageStored {{ GroupId = {GroupId}, Seq = {Seq}, MessageId = {MessageId}, MsgType = {MsgType}, Content = {Redact.Text(Content)} }}";
}

/// <summary>Where an AI reply is: <c>ai_state</c>.</summary>
public sealed record AiStateChanged(
    string GroupId,
    IReadOnlyList<string> Recipients,
    string RecordId,
    string UserMessageId,
    string State,
    string? Code = null) : GroupEvent(GroupId, Recipients)
{
    public override object Frame() => new AiStateFrame(GroupId, RecordId, UserMessageId, State, Code);
}

/// <summary>A piece of an AI reply being written: <c>ai_delta</c>. Not stored.</summary>
public sealed record AiPieceWritten(string GroupId, IReadOnlyList<string> Recipients, string RecordId, int Index, string Text)
    : GroupEvent(GroupId, Recipients)
{
    public override object Frame() => new AiDeltaFrame(GroupId, RecordId, Index, Text);

    public override string ToString() => $"AiPieceWritten {{ GroupId = {GroupId}, RecordId = {RecordId}, Index = {Index}, Text = {Redact.Text(Text)} }}";
}

/// <summary>Review mode: the AI's finished draft, to the group's doctors: <c>ai_draft</c>.</summary>
public sealed record AiDraftWritten(string GroupId, IReadOnlyList<string> Recipients, string RecordId, string UserMessageId, string Content)
    : GroupEvent(GroupId, Recipients)
{
    public override object Frame() => new AiDraftFrame(GroupId, RecordId, UserMessageId, Content);

    public override string ToString() => $"AiDraftWritten {{ GroupId = {GroupId}, RecordId = {RecordId}, Content = {Redact.Text(Content)} }}";
}

/// <summary>The group's AI mode or pause changed: <c>group_updated</c>.</summary>
public sealed record GroupAiChanged(string GroupId, IReadOnlyList<string> Recipients, string AiMode, int PauseAfterDoctorSeconds, string UpdatedBy)
    : GroupEvent(GroupId, Recipients)
{
    public override object Frame() => new GroupUpdatedFrame(GroupId, AiMode, PauseAfterDoctorSeconds, UpdatedBy);
}

/// <summary>
/// What a user's own channel carries: the user joined or left a group. A node with a socket of the
/// user starts or stops reading that group's channel; <see cref="UserEvent.Seq"/> is the group's last
/// <c>seq</c> when it happened, so a node that starts reading late fetches what came after it.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "event")]
[JsonDerivedType(typeof(JoinedGroup), "joined")]
[JsonDerivedType(typeof(LeftGroup), "left")]
public abstract record UserEvent(string UserId, string GroupId)
{
    [JsonIgnore]
    public long Seq { get; init; }
}

public sealed record JoinedGroup(string UserId, string GroupId) : UserEvent(UserId, GroupId);

public sealed record LeftGroup(string UserId, string GroupId) : UserEvent(UserId, GroupId);

/// <summary>
/// The envelope on a channel: <c>"&lt;id&gt; &lt;seq&gt; &lt;event JSON&gt;"</c>. The store's script writes the
/// two numbers in front of a message's event (only it knows them) and publishes it in the step that
/// stores it; other events come with their header from C# (id 0). Nothing is spliced into the JSON.
/// </summary>
public static class EventEnvelope
{
    /// <summary>The event's JSON, without the envelope: what a script prefixes with the numbers it takes.</summary>
    public static string Body(GroupEvent groupEvent) => JsonSerializer.Serialize(groupEvent, ImJson.Options);

    /// <summary>A user's event with its header (id 0, the group's <c>seq</c> when it happened).</summary>
    public static string Payload(UserEvent userEvent) =>
        string.Create(CultureInfo.InvariantCulture, $"0 {userEvent.Seq} {JsonSerializer.Serialize(userEvent, ImJson.Options)}");

    /// <summary>A whole payload, for an event whose <c>seq</c> is known before the store's step.</summary>
    public static string Payload(GroupEvent groupEvent) =>
        string.Create(CultureInfo.InvariantCulture, $"0 {groupEvent.Seq} {Body(groupEvent)}");

    /// <summary>The event in a payload; null when it is no event of this version (logged by the caller).</summary>
    public static GroupEvent? ReadGroupEvent(string payload)
    {
        if (!TrySplit(payload, out var id, out var seq, out var body)) return null;
        return JsonSerializer.Deserialize<GroupEvent>(body, ImJson.Options) switch
        {
            MessageStored message => message with { Id = id, Seq = seq },
            { } other => other with { Seq = seq },
            null => null,
        };
    }

    public static UserEvent? ReadUserEvent(string payload) =>
        TrySplit(payload, out _, out var seq, out var body) && JsonSerializer.Deserialize<UserEvent>(body, ImJson.Options) is { } read
            ? read with { Seq = seq }
            : null;

    private static bool TrySplit(string payload, out long id, out long seq, out ReadOnlySpan<char> body)
    {
        id = seq = 0;
        body = default;
        var span = payload.AsSpan();
        var first = span.IndexOf(' ');
        if (first < 0 || !long.TryParse(span[..first], NumberStyles.None, CultureInfo.InvariantCulture, out id)) return false;
        span = span[(first + 1)..];
        var second = span.IndexOf(' ');
        if (second < 0 || !long.TryParse(span[..second], NumberStyles.None, CultureInfo.InvariantCulture, out seq)) return false;
        body = span[(second + 1)..];
        return true;
    }
}
