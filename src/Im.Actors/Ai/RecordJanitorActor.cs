using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Im.Actors.Groups;
using Im.Actors.Storage;

namespace Im.Actors.Ai;

/// <summary>
/// One per node. Whenever this node comes up and whenever a member is removed (it left, or it was
/// downed after a crash), looks for AI records still open on a node that is no longer a member, and
/// wakes their groups: a group's writer closes the open records that are no call of its own when it
/// starts or is woken (see GroupActor.AiReplies.cs), so the record keeps one owner. Every node does it; a wake is idempotent.
/// A lone node coming up after a crash wakes its previous incarnation's groups the same way.
/// A wake can be lost (sent while the shard region still routes to the gone member, or while the
/// store is unreachable), so while records stay orphaned it looks again every
/// <c>recheckAfter</c>, up to <see cref="MaxRechecks"/> times in a row.
/// </summary>
public sealed class RecordJanitorActor : ReceiveActor, IWithTimers
{
    public const int MaxRechecks = 12;

    private static readonly TimeSpan DefaultRecheckAfter = TimeSpan.FromSeconds(5);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly ImStore _store;
    private readonly IActorRef _groups;
    private readonly Cluster _cluster = Cluster.Get(Context.System);
    private readonly HashSet<UniqueAddress> _removed = [];
    private readonly HashSet<UniqueAddress> _up = [];
    private readonly TimeSpan _recheckAfter;
    private bool _sweeping;
    private bool _sweepAgain;
    private int _rechecks;

    public RecordJanitorActor(ImStore store, IActorRef groups, TimeSpan recheckAfter)
    {
        _store = store;
        _groups = groups;
        _recheckAfter = recheckAfter;
        Receive<ClusterEvent.MemberUp>(up =>
        {
            // The cluster's read view may not list a member yet when its MemberUp arrives.
            _up.Add(up.Member.UniqueAddress);
            if (up.Member.UniqueAddress.Equals(_cluster.SelfUniqueAddress)) Sweep();
        });
        Receive<ClusterEvent.MemberRemoved>(removed =>
        {
            // The cluster's read view may still list the member when this event arrives.
            _removed.Add(removed.Member.UniqueAddress);
            _rechecks = 0;
            Sweep();
        });
        Receive<Recheck>(_ => Sweep());
        Receive<Swept>(swept =>
        {
            _sweeping = false;
            if (swept.Groups.Count > 0)
            {
                _log.Warning("Waking {0} group(s) with AI records open on a node that is gone", swept.Groups.Count);
                foreach (var groupId in swept.Groups) _groups.Tell(new GroupCommands.WakeForOrphanedRecords(groupId));
            }
            if (swept.Failure is { } failure) _log.Warning("Looking for orphaned AI records failed: {0}", failure);
            if (_sweepAgain) Sweep();
            else if (swept.Groups.Count == 0 && swept.Failure is null) _rechecks = 0;
            else if (_rechecks++ < MaxRechecks) Timers.StartSingleTimer(nameof(Recheck), Recheck.Instance, _recheckAfter);
            else
            {
                _log.Warning("AI records of {0} group(s) are still open on a node that is gone after {1} wakes; looking again when a member "
                             + "comes or goes", swept.Groups.Count, MaxRechecks);
            }
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="groups">The group shard region.</param>
    /// <param name="recheckAfter">How long to wait before looking again while records stay orphaned (5 s unless a spec says).</param>
    public static Props Props(ImStore store, IActorRef groups, TimeSpan? recheckAfter = null) =>
        Akka.Actor.Props.Create(() => new RecordJanitorActor(store, groups, recheckAfter ?? DefaultRecheckAfter));

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
        var live = _cluster.State.Members.Select(m => m.UniqueAddress).Concat(_up)
            .Where(node => !_removed.Contains(node)).Select(node => node.ToString()).ToHashSet();
        _store.OrphanedRecordGroups(live).PipeTo(Self,
            success: groups => new Swept(groups, null),
            failure: ex => new Swept([], ex.GetType().Name));
    }

    private sealed record Swept(IReadOnlyCollection<string> Groups, string? Failure) : ILocalOnly;

    private sealed class Recheck : ILocalOnly
    {
        public static readonly Recheck Instance = new();
    }
}
