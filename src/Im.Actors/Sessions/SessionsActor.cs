using Akka.Actor;
using Akka.Event;
using Im.Actors.Connections;
using Im.Actors.Events;
using Im.Actors.Storage;
using Im.Contracts;
using StackExchange.Redis;

namespace Im.Actors.Sessions;

public static class SessionsProtocol
{
    /// <summary>From the host: start the session of a socket that just opened; replied with the session's <see cref="IActorRef"/>.</summary>
    public sealed record StartSession(string UserId, ISessionOutput Output, SessionSettings Settings) : ILocalOnly;

    /// <summary>
    /// From a session whose user checked out: it wants its user's pushes. Answered with
    /// <see cref="Registered"/> once every channel the user needs is read, so that everything stored
    /// after the session says <c>connected</c> reaches it.
    /// </summary>
    public sealed record Register(string UserId, IActorRef Session) : ILocalOnly;

    public sealed record Registered : ILocalOnly
    {
        public static readonly Registered Instance = new();
    }

    /// <summary>An event for the session's user, with its frame as JSON, made once on this node for all its sockets.</summary>
    public sealed record Push(GroupEvent Event, string Frame) : ILocalOnly
    {
        public override string ToString() => $"Push {{ Event = {Event.GetType().Name}, GroupId = {Event.GroupId}, Seq = {Event.Seq} }}";
    }
}

/// <param name="CatchUpMax">Most messages a late reader of a group fetches for a user who joined it meanwhile (<c>Im__ResumeMax</c>).</param>
/// <param name="Queries">The node's <see cref="Queries.QueryActor"/>.</param>
public sealed record SessionsSettings(ImStore Store, IActorRef Groups, IActorRef Queries, SendRateLimiter SendRate, ImMetrics Metrics,
    int CatchUpMax = 1000);

/// <summary>
/// One per node, the parent of its sessions: starts one per socket, watches it, and is the node's
/// whole fan-out. It reads only the channels its sockets need: the channel of each user with a
/// socket here (joined or left a group) and of each group one of those users is in, subscribed when
/// the first such socket opens and left when the last one closes (as Centrifugo's Redis broker and
/// SignalR's backplane do per channel). Each channel is a <see cref="ChannelMessageQueue"/>, so a
/// group's events arrive in publish order, which is <c>seq</c> order; this single actor hands them
/// on, so every socket gets a group's pushes in that order. An event becomes frame JSON once.
/// A user who joins a group this node did not read gets, once the channel is read, what was stored
/// after the join from the store, and the group's live events wait meanwhile, so nothing comes twice
/// or out of order. It tells the node's connection registry who is connected.
/// The store is the source of truth: pub/sub may drop an event, and a client catches up from history.
/// </summary>
public sealed class SessionsActor : ReceiveActor, IWithTimers
{
    public const string Name = "sessions";

    private static readonly TimeSpan ResubscribeAfter = TimeSpan.FromSeconds(1);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IConnectionMultiplexer _redis;
    private readonly StoreKeys _keys;
    private readonly SessionsSettings _settings;
    private readonly IActorRef _connections;
    private readonly Dictionary<IActorRef, string> _userOfSession = [];
    private readonly Dictionary<string, LocalUser> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GroupFeed> _groups = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Subscription> _channels = new(StringComparer.Ordinal);
    private EventHandler<ConnectionFailedEventArgs>? _onFailed;
    private EventHandler<ConnectionFailedEventArgs>? _onRestored;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="connections">The node's <see cref="ConnectionRegistryActor"/>.</param>
    public SessionsActor(IConnectionMultiplexer redis, SessionsSettings settings, IActorRef connections)
    {
        _redis = redis;
        _keys = settings.Store.Keys;
        _settings = settings;
        _connections = connections;
        Receive<SessionsProtocol.StartSession>(Start);
        Receive<SessionsProtocol.Register>(Register);
        Receive<SessionEnded>(ended => End(ended.Session));
        Receive<Published>(Dispatch);
        Receive<Subscribed>(OnSubscribed);
        Receive<SubscribeFailed>(OnSubscribeFailed);
        Receive<Unsubscribed>(OnUnsubscribed);
        Receive<LoadGroups>(Load);
        Receive<GroupsLoaded>(OnGroupsLoaded);
        Receive<CaughtUp>(OnCaughtUp);
        Receive<SubscriptionLost>(lost =>
            _log.Warning("Lost the store's event channels ({0}); pushes pause until it reconnects, clients catch up from history", lost.Reason));
        Receive<SubscriptionRestored>(_ => _log.Info("Reconnected to the store's event channels; pushes flow again"));
    }

    public static Props Props(IConnectionMultiplexer redis, SessionsSettings settings, IActorRef connections) =>
        Akka.Actor.Props.Create(() => new SessionsActor(redis, settings, connections));

    // A session that throws is not restarted: a restart would say "connected" twice. It stops, and its socket is closed.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    protected override void PreStart()
    {
        var self = Self;
        // StackExchange.Redis subscribes again by itself after a reconnect; these only say so in the log.
        _onFailed = (_, e) => { if (e.ConnectionType == ConnectionType.Subscription) self.Tell(new SubscriptionLost(e.FailureType.ToString())); };
        _onRestored = (_, e) => { if (e.ConnectionType == ConnectionType.Subscription) self.Tell(new SubscriptionRestored()); };
        _redis.ConnectionFailed += _onFailed;
        _redis.ConnectionRestored += _onRestored;
    }

    protected override void PostStop()
    {
        _redis.ConnectionFailed -= _onFailed;
        _redis.ConnectionRestored -= _onRestored;
        foreach (var subscription in _channels.Values) _ = subscription.Queue?.UnsubscribeAsync();
    }

    private void Start(SessionsProtocol.StartSession start)
    {
        var session = Context.ActorOf(SessionActor.Props(start.UserId, start.Output, _settings.Store, _settings.Groups, _settings.Queries, Self,
            _settings.SendRate, start.Settings));
        Sender.Tell(session);
    }

    // ---- who is here ----

    private void Register(SessionsProtocol.Register register)
    {
        var session = register.Session;
        if (_userOfSession.ContainsKey(session)) return;
        _userOfSession[session] = register.UserId;
        // Watched from its registration: a session that ends before it (its user unknown) was never counted anywhere.
        Context.WatchWith(session, new SessionEnded(session));
        if (!_users.TryGetValue(register.UserId, out var user))
        {
            _users[register.UserId] = user = new LocalUser(register.UserId);
            Want(Subscription.OfUser(_keys, register.UserId));
        }
        user.Waiting.Add(session);
        TryPromote(user);
    }

    /// <summary>Sessions waiting for their user's channels are told <c>Registered</c> once every one of them is read.</summary>
    private void TryPromote(LocalUser user)
    {
        if (user.Waiting.Count == 0 || user.Phase != UserPhase.Ready) return;
        if (user.Groups.Any(groupId => !IsActive(GroupChannel(groupId)))) return;
        foreach (var session in user.Waiting)
        {
            user.Live.Add(session);
            session.Tell(SessionsProtocol.Registered.Instance);
            _connections.Tell(new ConnectionRegistry.Opened(user.UserId));
        }
        user.Waiting.Clear();
    }

    private void End(IActorRef session)
    {
        if (!_userOfSession.Remove(session, out var userId) || !_users.TryGetValue(userId, out var user)) return;
        if (user.Live.Remove(session)) _connections.Tell(new ConnectionRegistry.Closed(userId));
        user.Waiting.Remove(session);
        if (user.Live.Count > 0 || user.Waiting.Count > 0) return;
        _users.Remove(userId);
        foreach (var groupId in user.Groups) Leave(groupId, userId);
        Release(UserChannel(userId));
    }

    // ---- the channels ----

    private string UserChannel(string userId) => _keys.UserEvents(userId).ToString();

    private string GroupChannel(string groupId) => _keys.GroupEvents(groupId).ToString();

    private bool IsActive(string channel) => _channels.TryGetValue(channel, out var s) && s.State == SubscriptionState.Active;

    private void Want(Subscription template)
    {
        if (_channels.TryGetValue(template.Name, out var subscription))
        {
            subscription.Wanted = true;
            return;
        }
        _channels[template.Name] = template;
        Subscribe(template);
    }

    private void Release(string channel)
    {
        if (!_channels.TryGetValue(channel, out var subscription)) return;
        subscription.Wanted = false;
        if (subscription.State == SubscriptionState.Active) Unsubscribe(subscription);
    }

    private void Subscribe(Subscription subscription)
    {
        subscription.State = SubscriptionState.Subscribing;
        var generation = ++subscription.Generation;
        var name = subscription.Name;
        var self = Self;
        // Completes once the server has confirmed the subscription: what is published after it is read.
        _redis.GetSubscriber().SubscribeAsync(_keys.Channel(name)).PipeTo(Self,
            success: queue =>
            {
                queue.OnMessage(message => self.Tell(new Published(name, generation, (string)message.Message!)));
                return new Subscribed(name, generation, queue);
            },
            failure: ex => new SubscribeFailed(name, generation, ex));
    }

    private void Unsubscribe(Subscription subscription)
    {
        subscription.State = SubscriptionState.Unsubscribing;
        var queue = subscription.Queue;
        subscription.Queue = null;
        var name = subscription.Name;
        var generation = subscription.Generation;
        // A channel is subscribed again only once the server has confirmed it was left: a subscription
        // sent while the unsubscription is on its way would be taken back by it.
        (queue?.UnsubscribeAsync() ?? Task.CompletedTask).PipeTo(Self,
            success: () => new Unsubscribed(name, generation),
            failure: _ => new Unsubscribed(name, generation));
    }

    private void OnSubscribed(Subscribed subscribed)
    {
        if (!_channels.TryGetValue(subscribed.Name, out var subscription) || subscription.Generation != subscribed.Generation)
        {
            _ = subscribed.Queue.UnsubscribeAsync();
            return;
        }
        subscription.Queue = subscribed.Queue;
        subscription.State = SubscriptionState.Active;
        if (!subscription.Wanted)
        {
            Unsubscribe(subscription);
            return;
        }
        if (subscription.UserId is { } userId && _users.TryGetValue(userId, out var user) && user.Phase == UserPhase.Subscribing)
        {
            // Read after the user's channel is: a group joined from now on is heard of there.
            user.Phase = UserPhase.Loading;
            Load(new LoadGroups(userId));
        }
        if (subscription.GroupId is { } groupId && _groups.TryGetValue(groupId, out var feed))
        {
            if (feed.CatchUpFrom.Count > 0) CatchUp(feed);
            foreach (var member in feed.Members)
                if (_users.TryGetValue(member, out var waiting)) TryPromote(waiting);
        }
    }

    private void OnSubscribeFailed(SubscribeFailed failed)
    {
        if (!_channels.TryGetValue(failed.Name, out var subscription) || subscription.Generation != failed.Generation) return;
        if (!subscription.Wanted)
        {
            _channels.Remove(failed.Name);
            return;
        }
        _log.Warning("Subscribing to an event channel failed ({0}); trying again in {1}", failed.Cause.GetType().Name, ResubscribeAfter);
        subscription.State = SubscriptionState.Unsubscribing;
        Timers.StartSingleTimer(failed.Name, new Unsubscribed(failed.Name, failed.Generation), ResubscribeAfter);
    }

    private void OnUnsubscribed(Unsubscribed unsubscribed)
    {
        if (!_channels.TryGetValue(unsubscribed.Name, out var subscription) || subscription.Generation != unsubscribed.Generation) return;
        if (subscription.Wanted) Subscribe(subscription);
        else _channels.Remove(unsubscribed.Name);
    }

    // ---- the users' groups ----

    private void Load(LoadGroups load)
    {
        if (!_users.TryGetValue(load.UserId, out var user) || user.Phase != UserPhase.Loading) return;
        var userId = load.UserId;
        _settings.Store.UserGroupIds(userId).PipeTo(Self,
            success: groups => new GroupsLoaded(userId, groups),
            failure: ex => new GroupsLoaded(userId, null, ex));
    }

    private void OnGroupsLoaded(GroupsLoaded loaded)
    {
        if (!_users.TryGetValue(loaded.UserId, out var user) || user.Phase != UserPhase.Loading) return;
        if (loaded.Groups is null)
        {
            // The store is down: try again; sessions that wait too long close 1013 and their clients reconnect.
            _log.Warning(loaded.Cause, "Could not read the groups of a connecting user; trying again in {0}", ResubscribeAfter);
            Timers.StartSingleTimer("load:" + loaded.UserId, new LoadGroups(loaded.UserId), ResubscribeAfter);
            return;
        }
        user.Phase = UserPhase.Ready;
        foreach (var groupId in loaded.Groups)
            if (!user.LeftWhileLoading.Contains(groupId)) Join(user, groupId, catchUpFrom: null);
        user.LeftWhileLoading.Clear();
        TryPromote(user);
    }

    private void OnUserEvent(string userId, UserEvent userEvent)
    {
        if (!_users.TryGetValue(userId, out var user)) return;
        switch (userEvent)
        {
            case JoinedGroup joined:
                user.LeftWhileLoading.Remove(joined.GroupId);
                // A group this node already reads needs no catch-up: the user, a recipient of what is stored
                // from the join on, has been getting it.
                Join(user, joined.GroupId, catchUpFrom: IsActive(GroupChannel(joined.GroupId)) ? null : joined.Seq);
                TryPromote(user);
                break;
            case LeftGroup left:
                if (user.Phase == UserPhase.Loading) user.LeftWhileLoading.Add(left.GroupId);
                if (user.Groups.Remove(left.GroupId)) Leave(left.GroupId, userId);
                break;
        }
    }

    private void Join(LocalUser user, string groupId, long? catchUpFrom)
    {
        if (!user.Groups.Add(groupId)) return;
        if (!_groups.TryGetValue(groupId, out var feed)) _groups[groupId] = feed = new GroupFeed(groupId);
        feed.Members.Add(user.UserId);
        if (catchUpFrom is { } from) feed.CatchUpFrom[user.UserId] = from;
        Want(Subscription.OfGroup(_keys, groupId));
    }

    private void Leave(string groupId, string userId)
    {
        if (!_groups.TryGetValue(groupId, out var feed)) return;
        feed.Members.Remove(userId);
        feed.CatchUpFrom.Remove(userId);
        feed.DeliveredUpTo.Remove(userId);
        if (feed.Members.Count > 0) return;
        _groups.Remove(groupId);
        Release(GroupChannel(groupId));
    }

    // ---- events ----

    private void Dispatch(Published published)
    {
        if (!_channels.TryGetValue(published.Name, out var subscription) || subscription.Generation != published.Generation
            || subscription.State != SubscriptionState.Active) return;
        if (subscription.UserId is { } userId)
        {
            if (Read(published.Payload, EventEnvelope.ReadUserEvent) is { } userEvent) OnUserEvent(userId, userEvent);
            return;
        }
        _settings.Metrics.FanoutEventReceived();
        if (!_groups.TryGetValue(subscription.GroupId!, out var feed) || Read(published.Payload, EventEnvelope.ReadGroupEvent) is not { } groupEvent)
            return;
        if (feed.Held is { } held) held.Add(groupEvent);
        else Deliver(feed, groupEvent);
    }

    private T? Read<T>(string payload, Func<string, T?> read) where T : class
    {
        try
        {
            if (read(payload) is { } value) return value;
        }
        catch (System.Text.Json.JsonException ex)
        {
            _log.Warning("Dropped an event this version cannot read: {0}", ex.Message);
            return null;
        }
        _log.Warning("Dropped an event this version cannot read");
        return null;
    }

    /// <summary>To every local session of each recipient; the frame is written once, the sender's echo once more.</summary>
    private void Deliver(GroupFeed feed, GroupEvent groupEvent)
    {
        SessionsProtocol.Push? push = null;
        foreach (var recipient in groupEvent.Recipients)
        {
            if (!_users.TryGetValue(recipient, out var user) || user.Live.Count == 0) continue;
            if (groupEvent is MessageStored && feed.DeliveredUpTo.TryGetValue(recipient, out var upTo) && groupEvent.Seq <= upTo) continue;
            var own = groupEvent.FrameFor(recipient) is { } frame ? new SessionsProtocol.Push(groupEvent, ImJson.Serialize(frame)) : null;
            var toSend = own ?? (push ??= new SessionsProtocol.Push(groupEvent, ImJson.Serialize(groupEvent.Frame())));
            foreach (var session in user.Live) session.Tell(toSend);
        }
    }

    /// <summary>
    /// Users joined the group while this node did not read it: fetch what was stored after each one's
    /// join, holding the group's live events until it is handed out.
    /// </summary>
    private void CatchUp(GroupFeed feed)
    {
        feed.Held ??= [];
        if (feed.Reading) return;
        feed.Reading = true;
        var batch = new Dictionary<string, long>(feed.CatchUpFrom);
        feed.CatchUpFrom.Clear();
        var groupId = feed.GroupId;
        _settings.Store.MessagesAfter(groupId, batch.Values.Min(), _settings.CatchUpMax).PipeTo(Self,
            success: messages => new CaughtUp(groupId, batch, messages),
            failure: ex => new CaughtUp(groupId, batch, null, ex));
    }

    private void OnCaughtUp(CaughtUp caughtUp)
    {
        if (!_groups.TryGetValue(caughtUp.GroupId, out var feed) || !feed.Reading) return;
        feed.Reading = false;
        if (caughtUp.Messages is null)
            _log.Warning(caughtUp.Cause, "Could not fetch what was stored in group {0} after a member joined; its clients catch up from history",
                caughtUp.GroupId);
        foreach (var (userId, from) in caughtUp.From)
        {
            if (!feed.Members.Contains(userId) || !_users.TryGetValue(userId, out var user)) continue;
            var upTo = from;
            foreach (var stored in caughtUp.Messages ?? [])
            {
                if (stored.Message.Seq <= from) continue;
                var groupEvent = MessageStored.From(stored, [userId]);
                var push = new SessionsProtocol.Push(groupEvent, ImJson.Serialize(groupEvent.Frame()));
                foreach (var session in user.Live) session.Tell(push);
                upTo = stored.Message.Seq;
            }
            feed.DeliveredUpTo[userId] = upTo;
        }
        if (feed.CatchUpFrom.Count > 0)
        {
            CatchUp(feed);
            return;
        }
        var held = feed.Held ?? [];
        feed.Held = null;
        foreach (var groupEvent in held) Deliver(feed, groupEvent);
    }

    // ---- state ----

    private enum UserPhase
    {
        /// <summary>Its channel is being subscribed to.</summary>
        Subscribing,
        /// <summary>Its groups are being read from the store.</summary>
        Loading,
        Ready,
    }

    private sealed class LocalUser(string userId)
    {
        public string UserId => userId;
        public UserPhase Phase { get; set; } = UserPhase.Subscribing;
        public HashSet<IActorRef> Live { get; } = [];
        public List<IActorRef> Waiting { get; } = [];
        public HashSet<string> Groups { get; } = new(StringComparer.Ordinal);
        public HashSet<string> LeftWhileLoading { get; } = new(StringComparer.Ordinal);
    }

    private sealed class GroupFeed(string groupId)
    {
        public string GroupId => groupId;

        /// <summary>The local users in the group: while there is one, the node reads the group's channel.</summary>
        public HashSet<string> Members { get; } = new(StringComparer.Ordinal);

        /// <summary>Users who joined while the channel was not read, and the group's last <c>seq</c> at their join.</summary>
        public Dictionary<string, long> CatchUpFrom { get; } = new(StringComparer.Ordinal);

        /// <summary>Users given messages from the store up to this <c>seq</c>: live copies of those are not sent again.</summary>
        public Dictionary<string, long> DeliveredUpTo { get; } = new(StringComparer.Ordinal);

        /// <summary>Live events waiting while a catch-up is read; null when none is.</summary>
        public List<GroupEvent>? Held { get; set; }

        public bool Reading { get; set; }
    }

    private enum SubscriptionState
    {
        Subscribing,
        Active,
        Unsubscribing,
    }

    private sealed class Subscription
    {
        public required string Name { get; init; }
        public string? UserId { get; init; }
        public string? GroupId { get; init; }
        public SubscriptionState State { get; set; }
        public bool Wanted { get; set; } = true;

        /// <summary>Counts subscriptions of this channel, so that what an older one still delivers is told apart and dropped.</summary>
        public int Generation { get; set; }

        public ChannelMessageQueue? Queue { get; set; }

        public static Subscription OfUser(StoreKeys keys, string userId) => new() { Name = keys.UserEvents(userId).ToString(), UserId = userId };

        public static Subscription OfGroup(StoreKeys keys, string groupId) => new() { Name = keys.GroupEvents(groupId).ToString(), GroupId = groupId };
    }

    private sealed record SessionEnded(IActorRef Session) : ILocalOnly;

    private sealed record Published(string Name, int Generation, string Payload) : ILocalOnly;

    private sealed record Subscribed(string Name, int Generation, ChannelMessageQueue Queue) : ILocalOnly;

    private sealed record SubscribeFailed(string Name, int Generation, Exception Cause) : ILocalOnly;

    private sealed record Unsubscribed(string Name, int Generation) : ILocalOnly;

    private sealed record LoadGroups(string UserId) : ILocalOnly;

    private sealed record GroupsLoaded(string UserId, IReadOnlyList<string>? Groups, Exception? Cause = null) : ILocalOnly;

    private sealed record CaughtUp(string GroupId, IReadOnlyDictionary<string, long> From, IReadOnlyList<StoredMessage>? Messages,
        Exception? Cause = null) : ILocalOnly;

    private sealed record SubscriptionLost(string Reason) : ILocalOnly;

    private sealed record SubscriptionRestored : ILocalOnly;
}
