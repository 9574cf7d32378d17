using System.Reflection;
using Akka.Actor;
using Akka.Cluster;
using Im.Contracts;

namespace Im.Actors.Ops;

/// <summary>
/// The members of <c>/api/ops/cluster</c>: membership as this node's <see cref="Cluster"/> sees it,
/// and each reachable member's <see cref="NodeStats"/> asked of that member, all at once, each under
/// its own timeout, so one slow or dead member costs the answer its own figures and nothing else.
/// </summary>
public static class ClusterOverview
{
    public static async Task<IReadOnlyList<MemberOpsStatus>> Members(ActorSystem system, TimeSpan timeout)
    {
        var cluster = Cluster.Get(system);
        var state = cluster.State;
        var members = state.Members.OrderBy(m => m.Address, Member.AddressOrdering).ToList();
        var stats = await Task.WhenAll(members.Select(member =>
            // An unreachable member cannot answer; asking it would only hold up the page by the timeout.
            state.Unreachable.Contains(member) ? Task.FromResult<NodeStats?>(null) : Ask(system, member.Address, timeout)));
        return members.Select((member, i) => Describe(member, !state.Unreachable.Contains(member), member.Address == cluster.SelfAddress, stats[i]))
            .ToList();
    }

    public static MemberOpsStatus Describe(Member member, bool reachable, bool isSelf, NodeStats? stats) => new(
        member.Address.ToString(),
        member.Status.ToString(),
        member.Roles.Order(StringComparer.Ordinal).ToList(),
        UpNumberOf(member),
        reachable,
        isSelf,
        stats?.GroupShards,
        stats?.GroupEntities,
        stats?.UserEntities,
        stats?.Sessions,
        stats?.AiInFlight,
        stats?.AiQueued,
        stats?.AiBreaker);

    /// <summary>
    /// Akka orders members' age by it (the oldest hosts the shard coordinators) but keeps it
    /// internal, so it is read by reflection; should a later Akka rename it, the field is null and
    /// the cluster spec fails. A member that is not Up yet has the largest number there is.
    /// </summary>
    private static readonly Func<Member, int>? UpNumber =
        typeof(Member).GetProperty("UpNumber", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public)?.GetMethod is { } getter
            ? getter.CreateDelegate<Func<Member, int>>()
            : null;

    private static int? UpNumberOf(Member member) => UpNumber?.Invoke(member) is { } n && n != int.MaxValue ? n : null;

    private static async Task<NodeStats?> Ask(ActorSystem system, Address address, TimeSpan timeout)
    {
        try
        {
            return await system.ActorSelection(new RootActorPath(address) / "user" / NodeStatsActor.Name)
                .Ask<NodeStats>(OpsQueries.GetNodeStats.Instance, timeout);
        }
        catch (AskTimeoutException)
        {
            return null;
        }
    }
}
