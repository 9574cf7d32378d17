using System.Text.Json;
using Im.Actors.Events;
using Im.Contracts;
using StackExchange.Redis;

namespace Im.Actors.Tests.Support;

/// <summary>An event as a spec reads it off a group's channel: who gets it, and the frame every recipient gets.</summary>
public sealed record Pushed(GroupEvent Event)
{
    public IReadOnlyList<string> Recipients => Event.Recipients;

    public JsonElement Frame => JsonSerializer.SerializeToElement(Event.Frame(), ImJson.Options);

    /// <summary>A stored message's sender, whose own connections get its <c>client_msg_id</c>.</summary>
    public string? SenderId => (Event as MessageStored)?.FromUserId;

    public string? ClientMsgId => (Event as MessageStored)?.ClientMsgId;

    public static Pushed Read(ChannelMessage message) =>
        new(EventEnvelope.ReadGroupEvent((string)message.Message!) ?? throw new InvalidOperationException("not a group event"));
}
