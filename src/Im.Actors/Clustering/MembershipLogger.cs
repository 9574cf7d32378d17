using Akka.Actor;
using Akka.Cluster;
using Microsoft.Extensions.Logging;

namespace Im.Actors.Clustering;

/// <summary>
/// One per node: says in the log when the cluster's membership changes, as this node sees it, so
/// an operator can tell from any node's log which members came, went, or stopped answering.
/// Losing a member is a warning; everything else is information. It writes to an
/// <see cref="ILogger"/> of its own category (<c>Im.Cluster.Membership</c>), not through Akka's
/// logging, which reports every actor under one category that operators keep at Warning.
/// </summary>
public sealed class MembershipLogger : ReceiveActor
{
    public const string Category = "Im.Cluster.Membership";

    private readonly ILogger _log;
    private readonly Cluster _cluster = Cluster.Get(Context.System);

    public MembershipLogger(ILogger log)
    {
        _log = log;
        Receive<ClusterEvent.MemberUp>(up => _log.LogInformation("Cluster member {Member} is up (roles [{Roles}])",
            up.Member.Address, string.Join(", ", up.Member.Roles)));
        Receive<ClusterEvent.MemberLeft>(left => _log.LogInformation("Cluster member {Member} is leaving", left.Member.Address));
        Receive<ClusterEvent.MemberExited>(exited => _log.LogInformation("Cluster member {Member} has left and is handing over", exited.Member.Address));
        Receive<ClusterEvent.MemberDowned>(downed => _log.LogWarning("Cluster member {Member} was downed", downed.Member.Address));
        Receive<ClusterEvent.MemberRemoved>(removed =>
        {
            if (removed.PreviousStatus == MemberStatus.Down)
                _log.LogWarning("Cluster member {Member} was removed after being downed; its groups move to the other members", removed.Member.Address);
            else
                _log.LogInformation("Cluster member {Member} was removed", removed.Member.Address);
        });
        Receive<ClusterEvent.UnreachableMember>(unreachable =>
            _log.LogWarning("Cluster member {Member} is unreachable; requests for its groups wait until it answers again or is downed",
                unreachable.Member.Address));
        Receive<ClusterEvent.ReachableMember>(reachable => _log.LogInformation("Cluster member {Member} is reachable again", reachable.Member.Address));
        Receive<ClusterEvent.LeaderChanged>(changed => _log.LogInformation("Cluster leader is now {Leader}", changed.Leader?.ToString() ?? "none"));
    }

    public static Props Props(ILoggerFactory loggers) => Akka.Actor.Props.Create(() => new MembershipLogger(loggers.CreateLogger(Category)));

    protected override void PreStart() =>
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent), typeof(ClusterEvent.LeaderChanged));

    protected override void PostStop() => _cluster.Unsubscribe(Self);
}
