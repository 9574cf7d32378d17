using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Im.Actors.Storage;
using Im.Contracts;
using StackExchange.Redis;

namespace Im.Actors.Fanout;

public static class FanoutProtocol
{
    /// <summary>A session of <paramref name="UserId"/> on this node wants its user's pushes.</summary>
    public sealed record Register(string UserId, IActorRef Session);

    /// <summary>A frame for one connection, already serialized.</summary>
    public sealed record Push(string Frame)
    {
        public override string ToString() => $"Push {{ Frame = {Redact.Text(Frame)} }}";
    }
}

/// <summary>
/// One per node. Consumes the store's events channel through a <see cref="ChannelMessageQueue"/>,
/// which hands messages over one at a time in publish order (plain subscription handlers run
/// concurrently and would reorder), and tells each local session of each recipient its frame.
/// Telling from this single actor keeps a group's <c>seq</c> order on every connection.
/// The store is the source of truth: pub/sub may drop an event, and a client catches up from history.
/// </summary>
public sealed class FanoutActor : ReceiveActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IConnectionMultiplexer _redis;
    private readonly StoreKeys _keys;
    private readonly ImMetrics _metrics;
    private readonly Dictionary<string, HashSet<IActorRef>> _sessionsByUser = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, string> _userBySession = new();
    private ChannelMessageQueue? _queue;
    private EventHandler<ConnectionFailedEventArgs>? _onFailed;
    private EventHandler<ConnectionFailedEventArgs>? _onRestored;

    public FanoutActor(IConnectionMultiplexer redis, StoreKeys keys, ImMetrics metrics)
    {
        _redis = redis;
        _keys = keys;
        _metrics = metrics;
        Receive<Subscribed>(s => _queue = s.Queue);
        Receive<Status.Failure>(f => _log.Error(f.Cause, "Subscribing to the events channel failed; pushes stop until the host restarts"));
        Receive<FanoutProtocol.Register>(Register);
        Receive<Terminated>(t => Unregister(t.ActorRef));
        Receive<Published>(p =>
        {
            _metrics.FanoutEventReceived();
            Deliver(p.Payload);
        });
        Receive<SubscriptionLost>(lost =>
            _log.Warning("Lost the store's events channel ({0}); pushes pause until it reconnects, clients catch up from history", lost.Reason));
        Receive<SubscriptionRestored>(_ => _log.Info("Reconnected to the store's events channel; pushes flow again"));
    }

    public static Props Props(IConnectionMultiplexer redis, StoreKeys keys, ImMetrics metrics) =>
        Akka.Actor.Props.Create(() => new FanoutActor(redis, keys, metrics));

    protected override void PreStart()
    {
        var self = Self;
        // StackExchange.Redis subscribes again by itself after a reconnect; these only say so in the log.
        _onFailed = (_, e) => { if (e.ConnectionType == ConnectionType.Subscription) self.Tell(new SubscriptionLost(e.FailureType.ToString())); };
        _onRestored = (_, e) => { if (e.ConnectionType == ConnectionType.Subscription) self.Tell(new SubscriptionRestored()); };
        _redis.ConnectionFailed += _onFailed;
        _redis.ConnectionRestored += _onRestored;
        _redis.GetSubscriber().SubscribeAsync(_keys.Events).PipeTo(Self, success: queue =>
        {
            queue.OnMessage(message => self.Tell(new Published(message.Message!)));
            return new Subscribed(queue);
        });
    }

    protected override void PostStop()
    {
        _redis.ConnectionFailed -= _onFailed;
        _redis.ConnectionRestored -= _onRestored;
        _queue?.Unsubscribe();
    }

    private void Register(FanoutProtocol.Register register)
    {
        if (!_sessionsByUser.TryGetValue(register.UserId, out var sessions))
            _sessionsByUser[register.UserId] = sessions = [];
        if (sessions.Add(register.Session))
        {
            _userBySession[register.Session] = register.UserId;
            Context.Watch(register.Session);
        }
    }

    private void Unregister(IActorRef session)
    {
        if (!_userBySession.Remove(session, out var userId)) return;
        var sessions = _sessionsByUser[userId];
        sessions.Remove(session);
        if (sessions.Count == 0) _sessionsByUser.Remove(userId);
    }

    private void Deliver(string payload)
    {
        PushEvent? pushed;
        try
        {
            pushed = JsonSerializer.Deserialize<PushEvent>(payload, ImJson.Options);
        }
        catch (JsonException ex)
        {
            _log.Warning("Dropped an event that is not a push: {0}", ex.Message);
            return;
        }
        if (pushed is null || pushed.Frame.ValueKind != JsonValueKind.Object) return;

        var frame = pushed.Frame.GetRawText();
        string? forSender = null;
        foreach (var recipient in pushed.Recipients)
        {
            if (!_sessionsByUser.TryGetValue(recipient, out var sessions)) continue;
            var text = recipient == pushed.SenderId && pushed.ClientMsgId is { } clientMsgId
                ? forSender ??= WithClientMsgId(pushed.Frame, clientMsgId)
                : frame;
            var push = new FanoutProtocol.Push(text);
            foreach (var session in sessions) session.Tell(push);
        }
    }

    /// <summary>
    /// The <c>message_sent</c> frame with the sender's <c>client_msg_id</c>, for the sender's own connections
    /// only: written as the record writes it, so it reads exactly like the frame a repeated send is answered with.
    /// </summary>
    private static string WithClientMsgId(JsonElement frame, string clientMsgId) =>
        ImJson.Serialize(frame.Deserialize<MessageSentFrame>(ImJson.Options)! with { ClientMsgId = clientMsgId });

    private sealed record Subscribed(ChannelMessageQueue Queue) : ILocalOnly;

    private sealed record Published(string Payload) : ILocalOnly;

    private sealed record SubscriptionLost(string Reason) : ILocalOnly;

    private sealed record SubscriptionRestored : ILocalOnly;
}
