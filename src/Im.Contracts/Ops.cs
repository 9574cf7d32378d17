namespace Im.Contracts;

/// <summary><c>GET /api/ops/cluster</c>: the cluster as this node sees it, each member's figures from that member.</summary>
/// <param name="AuthMode"><c>header</c> or <c>jwt</c>.</param>
public sealed record ClusterOpsResponse(string Self, string AuthMode, StoreOpsStatus Store, IReadOnlyList<MemberOpsStatus> Members);

/// <param name="Kind"><c>embedded</c> (Garnet in this process) or <c>redis</c>.</param>
/// <param name="LatencyMs">A PING's round trip; null when the store did not answer.</param>
public sealed record StoreOpsStatus(string Kind, bool Reachable, double? LatencyMs);

/// <summary>
/// One cluster member. Membership (status, roles, up number, reachability) is this node's view of
/// the cluster; the figures come from the member itself and are null when it did not answer in time.
/// </summary>
/// <param name="Status">Akka's member status as Akka names it: <c>Joining</c>, <c>Up</c>, <c>Leaving</c>, <c>Exiting</c>, <c>Down</c>, …</param>
/// <param name="UpNumber">Order in which members became Up (lower is older); null while joining.</param>
/// <param name="GroupShards">Group shards hosted by the member.</param>
/// <param name="Sessions">WebSocket connections open on the member.</param>
/// <param name="AiBreaker"><c>closed</c>, <c>half-open</c> or <c>open</c>.</param>
public sealed record MemberOpsStatus(
    string Address,
    string Status,
    IReadOnlyList<string> Roles,
    int? UpNumber,
    bool Reachable,
    bool IsSelf,
    int? GroupShards,
    int? GroupEntities,
    int? UserEntities,
    int? Sessions,
    int? AiInFlight,
    int? AiQueued,
    string? AiBreaker);

/// <summary>
/// <c>GET /api/ops/connections/{user_id}</c>: where a user is connected across the cluster, from the
/// connection registry. A node that is gone drops out once the cluster removes it (about 15 s after a
/// crash), or 30–40 s after its last heartbeat when the cluster never removed it.
/// </summary>
/// <param name="Devices">The user's open WebSockets, all nodes together.</param>
public sealed record ConnectionsOpsResponse(string UserId, int Devices, IReadOnlyList<NodeConnectionsOps> Nodes);

/// <param name="Node">The node's address and incarnation, as <c>/api/ops/cluster</c> and the cluster name it.</param>
/// <param name="Devices">The user's open WebSockets on that node.</param>
public sealed record NodeConnectionsOps(string Node, int Devices);
