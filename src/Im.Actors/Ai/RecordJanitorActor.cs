using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Im.Actors.Storage;
using Im.Contracts;

namespace Im.Actors.Ai;

/// <summary>
/// One per node. Whenever this node comes up and whenever a member is removed (it left, or it was
/// downed after a crash), closes the AI records still at status 0 whose call ran on a node that is
/// no longer a member: nobody will ever finish them. Every node does it; closing is idempotent.
/// A lone node coming up after a crash closes its previous incarnation's records the same way.
/// </summary>
public sealed class RecordJanitorActor : ReceiveActor
{
    public const string Interrupted = $"{ErrorCodes.AiCallFailed}: interrupted";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly ImStore _store;
    private readonly Cluster _cluster = Cluster.Get(Context.System);
    private readonly HashSet<UniqueAddress> _removed = [];
    private bool _sweeping;
    private bool _sweepAgain;

    public RecordJanitorActor(ImStore store)
    {
        _store = store;
        Receive<ClusterEvent.MemberUp>(up =>
        {
            if (up.Member.UniqueAddress.Equals(_cluster.SelfUniqueAddress)) Sweep();
        });
        Receive<ClusterEvent.MemberRemoved>(removed =>
        {
            // The cluster's read view may still list the member when this event arrives.
            _removed.Add(removed.Member.UniqueAddress);
            Sweep();
        });
        Receive<Swept>(swept =>
        {
            _sweeping = false;
            if (swept.Closed > 0) _log.Warning("Closed {0} AI interaction records whose node is gone", swept.Closed);
            if (swept.Failure is { } failure) _log.Warning("Closing orphaned AI records failed: {0}", failure);
            if (_sweepAgain) Sweep();
        });
    }

    public static Props Props(ImStore store) => Akka.Actor.Props.Create(() => new RecordJanitorActor(store));

    protected override void PreStart() =>
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.MemberUp), typeof(ClusterEvent.MemberRemoved));

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    private void Sweep()
    {
        if (_sweeping)
        {
            _sweepAgain = true;
            return;
        }
        _sweeping = true;
        _sweepAgain = false;
        var live = _cluster.State.Members.Where(m => !_removed.Contains(m.UniqueAddress))
            .Select(m => m.UniqueAddress.ToString()).ToHashSet();
        _store.CloseOrphanedRecords(live, Interrupted).PipeTo(Self,
            success: closed => new Swept(closed, null),
            failure: ex => new Swept(0, ex.GetType().Name));
    }

    private sealed record Swept(int Closed, string? Failure) : ILocalOnly;
}
