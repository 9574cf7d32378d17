using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Im.Actors.Groups;
using Im.Actors.Storage;

namespace Im.Actors.Ai;

/// <summary>
/// One per node. Whenever this node comes up and whenever a member is removed (it left, or it was
/// downed after a crash), looks for AI records still open on a node that is no longer a member, and
/// wakes their groups: a group's writer that starts closes the open records it finds (see
/// GroupActor.AiReplies.cs), so the record keeps one owner. Every node does it; a wake is idempotent.
/// A lone node coming up after a crash wakes its previous incarnation's groups the same way.
/// </summary>
public sealed class RecordJanitorActor : ReceiveActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly ImStore _store;
    private readonly IActorRef _groups;
    private readonly Cluster _cluster = Cluster.Get(Context.System);
    private readonly HashSet<UniqueAddress> _removed = [];
    private readonly HashSet<UniqueAddress> _up = [];
    private bool _sweeping;
    private bool _sweepAgain;

    public RecordJanitorActor(ImStore store, IActorRef groups)
    {
        _store = store;
        _groups = groups;
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
            Sweep();
        });
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
        });
    }

    /// <param name="groups">The group shard region.</param>
    public static Props Props(ImStore store, IActorRef groups) => Akka.Actor.Props.Create(() => new RecordJanitorActor(store, groups));

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
        OrphanedGroups(live).PipeTo(Self,
            success: groups => new Swept(groups, null),
            failure: ex => new Swept([], ex.GetType().Name));
    }

    private async Task<IReadOnlyCollection<string>> OrphanedGroups(IReadOnlySet<string> liveNodes) =>
        (await _store.PendingRecordNodes()).Where(r => !liveNodes.Contains(r.Node)).Select(r => r.GroupId).ToHashSet();

    private sealed record Swept(IReadOnlyCollection<string> Groups, string? Failure) : ILocalOnly;
}
