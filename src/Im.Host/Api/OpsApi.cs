using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using Im.Actors.Connections;
using Im.Actors.Ops;
using Im.Contracts;
using Im.Host.Config;
using Im.Host.OpenApi;
using Im.Host.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using StackExchange.Redis;

namespace Im.Host.Api;

/// <summary>
/// For operators: <c>GET /api/ops/cluster</c> (the cluster, each member's figures from that member)
/// and <c>GET /ops</c>, a page that shows it. The JSON answers before the node is ready, when it is
/// needed most, so it is mapped outside <c>/api</c>'s group and past its readiness gate.
/// </summary>
public static class OpsApi
{
    public const string ClusterPath = "/api/ops/cluster";
    public const string ConnectionsPath = "/api/ops/connections/{user_id}";

    /// <summary>Per member; the page refreshes every 2 s, and a member slower than this is shown without figures.</summary>
    private static readonly TimeSpan MemberTimeout = TimeSpan.FromSeconds(1.5);

    private static readonly TimeSpan StoreTimeout = TimeSpan.FromSeconds(1);

    public static void MapOpsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet(ClusterPath, Cluster).RequireAuthorization(OpsAuthorization.Policy).WithTags("Operations")
            .WithSummary("The cluster's members, each with its own figures, and the store")
            .ProducesErrors(ErrorCodes.Forbidden, ErrorCodes.ServiceUnavailable, ErrorCodes.InternalError);
        app.MapGet(ConnectionsPath, Connections).RequireAuthorization(OpsAuthorization.Policy).WithTags("Operations")
            .WithName("GetUserConnections")
            .WithSummary("Where a user is connected across the cluster: devices per node, from the connection registry")
            .ProducesErrors(ErrorCodes.InvalidParameter, ErrorCodes.Forbidden, ErrorCodes.ServiceUnavailable, ErrorCodes.InternalError);
        app.MapOpsPage();
    }

    private static async Task<Ok<ClusterOpsResponse>> Cluster(ActorSystem system, AuthOptions auth, IConnectionMultiplexer redis, IServiceProvider services)
    {
        var members = ClusterOverview.Members(system, MemberTimeout);
        var store = Store(redis, embedded: services.GetService<EmbeddedGarnet>() is not null);
        return TypedResults.Ok(new ClusterOpsResponse(
            Akka.Cluster.Cluster.Get(system).SelfAddress.ToString(),
            auth.AuthMode.ToString().ToLowerInvariant(),
            await store,
            await members));
    }

    private static async Task<Results<Ok<ConnectionsOpsResponse>, ApiErrorResult>> Connections(string user_id,
        IRequiredActor<ConnectionRegistryActor> registry, ImOptions options)
    {
        if (RequestReader.CheckId("user_id", user_id) is { } invalid) return ApiResults.Error(invalid);
        try
        {
            var found = await registry.ActorRef.Ask<ConnectionRegistry.UserConnections>(new ConnectionRegistry.GetConnections(user_id),
                options.AskTimeout);
            return TypedResults.Ok(new ConnectionsOpsResponse(found.UserId, found.Devices,
                [.. found.Nodes.Select(node => new NodeConnectionsOps(node.Node, node.Devices))]));
        }
        catch (AskTimeoutException)
        {
            return ApiResults.Error(ErrorCodes.ServiceUnavailable, "the connection registry did not answer in time");
        }
    }

    private static async Task<StoreOpsStatus> Store(IConnectionMultiplexer redis, bool embedded)
    {
        var kind = embedded ? "embedded" : "redis";
        var watch = Stopwatch.StartNew();
        try
        {
            await redis.GetDatabase().PingAsync().WaitAsync(StoreTimeout);
            return new StoreOpsStatus(kind, true, Math.Round(watch.Elapsed.TotalMilliseconds, 2));
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return new StoreOpsStatus(kind, false, null);
        }
    }
}
