using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Im.Actors.Storage;

namespace Im.Actors.Connections;

public static class ConnectionRegistry
{
    /// <summary>From the node's sessions: a socket of the user is connected here.</summary>
    public sealed record Opened(string UserId) : ILocalOnly;

    /// <summary>From the node's sessions: a socket of the user that was connected here has closed.</summary>
    public sealed record Closed(string UserId) : ILocalOnly;

    /// <summary>Where the user is connected, across the cluster; replied with <see cref="UserConnections"/>.</summary>
    public sealed record GetConnections(string UserId);

    public sealed record NodeDevices(string Node, int Devices);

    public sealed record UserConnections(string UserId, IReadOnlyList<NodeDevices> Nodes)
    {
        public int Devices => Nodes.Sum(node => node.Devices);
    }
}

/// <param name="Node">This node's id in the registry: its address and incarnation, as the cluster names its members.</param>
/// <param name="HeartbeatEvery">How often the node says it is alive.</param>
/// <param name="GoneAfter">A node silent this long is taken for gone and its entries are cleared, by any node.</param>
public sealed record ConnectionRegistrySettings(string Node, TimeSpan HeartbeatEvery, TimeSpan GoneAfter)
{
    public static ConnectionRegistrySettings For(string node) => new(node, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30));
}

/// <summary>
/// One per node: keeps the cluster-wide view of who is connected where (<see cref="ConnectionStore"/>)
/// true for this node's sockets, as its sessions open and close, and clears the entries of nodes that
/// are gone: at once when the cluster removes a member (about 15 s after a kill -9), and, for a node
/// the cluster never removed (the whole cluster stopped), once its heartbeat is older than
/// <see cref="ConnectionRegistrySettings.GoneAfter"/>. Writes to the store in the order its sessions
/// tell it; a write that fails is put right by the next heartbeat, which writes the node's view again
/// when the store lost it. Never blocks: every store call is a task.
/// </summary>
public sealed class ConnectionRegistryActor : ReceiveActor, IWithTimers
{
    public const string Name = "connections";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly ConnectionStore _store;
    private readonly ConnectionRegistrySettings _settings;
    private readonly Dictionary<string, int> _local = new(StringComparer.Ordinal);
    private bool _listed;
    private bool _viewLost;
    private bool _restoring;
    private bool _changedWhileRestoring;

    public ITimerScheduler Timers { get; set; } = null!;

    public ConnectionRegistryActor(ConnectionStore store, ConnectionRegistrySettings settings)
    {
        _store = store;
        _settings = settings;
        Receive<ConnectionRegistry.Opened>(opened =>
        {
            _local[opened.UserId] = _local.GetValueOrDefault(opened.UserId) + 1;
            if (_restoring) _changedWhileRestoring = true;
            else Write(_store.Opened(opened.UserId, _settings.Node));
        });
        Receive<ConnectionRegistry.Closed>(closed =>
        {
            if (!_local.TryGetValue(closed.UserId, out var count)) return;
            if (count <= 1) _local.Remove(closed.UserId);
            else _local[closed.UserId] = count - 1;
            if (_restoring) _changedWhileRestoring = true;
            else Write(_store.Closed(closed.UserId, _settings.Node));
        });
        Receive<ConnectionRegistry.GetConnections>(get =>
        {
            var userId = get.UserId;
            _store.Of(userId).PipeTo(Sender, success: nodes =>
                new ConnectionRegistry.UserConnections(userId, [.. nodes.Select(n => new ConnectionRegistry.NodeDevices(n.Node, n.Devices))]));
        });
        Receive<Beat>(_ => _store.Heartbeat(_settings.Node).PipeTo(Self, success: added => new Beaten(added), failure: _ => new Beaten(null)));
        Receive<Beaten>(beaten =>
        {
            if (beaten.Added is null) return;
            // Listed anew after the first beat: its entries were cleared while it could not beat (a long
            // pause, or the store lost them). Its own view is what is true, so it is written again whole.
            if ((beaten.Added.Value && _listed) || _viewLost) Restore();
            _listed = true;
        });
        Receive<Restored>(restored =>
        {
            _restoring = false;
            _viewLost |= !restored.Ok;
            if (_changedWhileRestoring) Restore();
        });
        Receive<Written>(_ => { });
        Receive<WriteFailed>(failed =>
        {
            if (!_viewLost) _log.Warning("Could not record a connection in the store ({0}); the next heartbeat writes this node's view again",
                failed.Cause.GetType().Name);
            _viewLost = true;
        });
        Receive<Sweep>(_ => _store.SilentNodes(_settings.GoneAfter).PipeTo(Self, success: nodes => new Silent(nodes), failure: _ => new Silent([])));
        Receive<Silent>(silent =>
        {
            foreach (var node in silent.Nodes.Where(node => node != _settings.Node)) Clear(node, "its heartbeat stopped");
        });
        Receive<ClusterEvent.MemberRemoved>(removed =>
        {
            var node = removed.Member.UniqueAddress.ToString();
            if (node != _settings.Node) Clear(node, "the cluster removed it");
        });
        Receive<ClusterEvent.IClusterDomainEvent>(_ => { });
        Receive<Cleared>(cleared =>
        {
            if (cleared.Users > 0) _log.Info("Cleared the connections of {0} user(s) on node {1}: {2}", cleared.Users, cleared.Node, cleared.Why);
        });
    }

    public static Props Props(ConnectionStore store, ConnectionRegistrySettings settings) =>
        Akka.Actor.Props.Create(() => new ConnectionRegistryActor(store, settings));

    protected override void PreStart()
    {
        Self.Tell(new Beat());
        Timers.StartPeriodicTimer(nameof(Beat), new Beat(), _settings.HeartbeatEvery);
        Timers.StartPeriodicTimer(nameof(Sweep), new Sweep(), _settings.HeartbeatEvery * 2);
        if (Context.System is ExtendedActorSystem { Provider: IClusterActorRefProvider })
            Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
                typeof(ClusterEvent.MemberRemoved));
    }

    protected override void PostStop()
    {
        if (Context.System is ExtendedActorSystem { Provider: IClusterActorRefProvider })
            Cluster.Get(Context.System).Unsubscribe(Self);
        // A node that stops on its own takes its entries with it; a crash leaves them to the survivors.
        _ = _store.Clear(_settings.Node);
    }

    /// <summary>Replaces the node's entries with its view; changes meanwhile wait for it, then it runs once more.</summary>
    private void Restore()
    {
        _viewLost = false;
        _restoring = true;
        _changedWhileRestoring = false;
        _store.Restore(_settings.Node, new Dictionary<string, int>(_local)).PipeTo(Self, success: () => new Restored(true),
            failure: _ => new Restored(false));
    }

    private void Write(Task write) => write.PipeTo(Self, success: () => new Written(), failure: ex => new WriteFailed(ex));

    private void Clear(string node, string why) =>
        _store.Clear(node).PipeTo(Self, success: users => new Cleared(node, users, why), failure: ex => new Cleared(node, 0, why));

    private sealed record Beat : ILocalOnly;

    private sealed record Beaten(bool? Added) : ILocalOnly;

    private sealed record Restored(bool Ok) : ILocalOnly;

    private sealed record Written : ILocalOnly;

    private sealed record WriteFailed(Exception Cause) : ILocalOnly;

    private sealed record Sweep : ILocalOnly;

    private sealed record Silent(IReadOnlyList<string> Nodes) : ILocalOnly;

    private sealed record Cleared(string Node, int Users, string Why) : ILocalOnly;
}
