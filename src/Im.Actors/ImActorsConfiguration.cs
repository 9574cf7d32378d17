using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Im.Actors.Ai;
using Im.Actors.Clustering;
using Im.Actors.Connections;
using Im.Actors.Groups;
using Im.Actors.Media;
using Im.Actors.Ops;
using Im.Actors.Queries;
using Im.Actors.Sessions;
using Im.Actors.Storage;
using Im.Actors.Users;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Im.Actors;

/// <summary>Registry key of the group shard region.</summary>
public sealed class GroupRegion;

/// <summary>Registry key of the user shard region.</summary>
public sealed class UserRegion;

/// <summary>What the actors need from the host, built once from configuration.</summary>
public sealed record ImActorServices(
    IConnectionMultiplexer Redis,
    ImStore Store,
    AiSettings Ai,
    AiClient AiClient,
    TimeSpan AskTimeout,
    MediaLimits MediaLimits,
    ImMetrics Metrics,
    SendRateLimiter SendRate)
{
    /// <summary>How long a group or user actor stays idle before it is stopped and its memory given back.</summary>
    public TimeSpan PassivateAfter { get; init; } = ImActorsConfiguration.DefaultPassivateAfter;
}

/// <summary>Registration next to the actors; the host composes these in one place.</summary>
public static class ImActorsConfiguration
{
    private const int MaxShards = 100;
    public static readonly TimeSpan DefaultPassivateAfter = TimeSpan.FromMinutes(2);

    /// <summary>Well inside the ops page's ask of each member, so a slow region leaves the member's other figures standing.</summary>
    private static readonly TimeSpan NodeStatsRegionTimeout = TimeSpan.FromSeconds(1);

    public static AkkaConfigurationBuilder AddGroupActors(this AkkaConfigurationBuilder builder, ImActorServices services) =>
        builder.WithShardRegion<GroupRegion>("group",
            (system, registry, _) =>
            {
                var settings = new GroupActorSettings(services.Ai.AssistantUserId, services.PassivateAfter, services.Metrics, NodeId(system),
                    services.Ai.Model, services.Ai.ContextMessages);
                return groupId => GroupActor.Props(groupId, services.Store, registry.Get<AiPipelineActor>(), services.AiClient.Endpoint, settings);
            },
            new GroupMessageExtractor(MaxShards),
            new ShardOptions { RememberEntities = false, ShouldPassivateIdleEntities = false, HandOffStopMessage = StopEntity.Instance });

    public static AkkaConfigurationBuilder AddUserActors(this AkkaConfigurationBuilder builder, ImActorServices services) =>
        builder.WithShardRegion<UserRegion>("user",
            (_, _, _) => _ => UserActor.Props(services.Store, services.PassivateAfter),
            new UserMessageExtractor(MaxShards),
            new ShardOptions { RememberEntities = false, ShouldPassivateIdleEntities = false, HandOffStopMessage = StopEntity.Instance });

    public static AkkaConfigurationBuilder AddNodeActors(this AkkaConfigurationBuilder builder, ImActorServices services) =>
        builder.AddHocon(SessionMailbox.Hocon, HoconAddMode.Append).WithActors((system, registry, resolver) =>
        {
            registry.Register<QueryActor>(system.ActorOf(QueryActor.Props(services.Store, registry.Get<GroupRegion>()), "queries"));
            registry.Register<MediaActor>(system.ActorOf(MediaActor.Props(services.Store, new ImageSanitizer(services.MediaLimits)), "media"));
            var connections = system.ActorOf(ConnectionRegistryActor.Props(
                new ConnectionStore(services.Redis, services.Store.Keys, TimeProvider.System), ConnectionRegistrySettings.For(NodeId(system))),
                ConnectionRegistryActor.Name);
            registry.Register<ConnectionRegistryActor>(connections);
            registry.Register<SessionsActor>(system.ActorOf(SessionsActor.Props(services.Redis,
                new SessionsSettings(services.Store, registry.Get<GroupRegion>(), registry.Get<QueryActor>(), services.SendRate, services.Metrics), connections),
                SessionsActor.Name));
            var breaker = new AiCircuitBreaker(Math.Max(1, services.Ai.BreakerFailures), TimeSpan.FromSeconds(Math.Max(1, services.Ai.BreakerResetSeconds)),
                TimeProvider.System);
            registry.Register<AiPipelineActor>(system.ActorOf(
                AiPipelineActor.Props(AiPipelineSettings.From(services.Ai), services.Store, services.AiClient, breaker, services.Metrics),
                AiPipelineActor.Name));
            system.ActorOf(RecordJanitorActor.Props(services.Store, registry.Get<GroupRegion>()), "ai-records");
            system.ActorOf(MembershipLogger.Props(resolver.GetService<ILoggerFactory>()), "membership-log");
            registry.Register<NodeStatsActor>(system.ActorOf(
                NodeStatsActor.Props(services.Metrics, registry.Get<GroupRegion>(), registry.Get<UserRegion>(), NodeStatsRegionTimeout),
                NodeStatsActor.Name));
        });

    /// <summary>Address and incarnation: a node restarted on the same port is a different node.</summary>
    private static string NodeId(ActorSystem system) => Cluster.Get(system).SelfUniqueAddress.ToString();
}
