using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Im.Actors;
using Im.Actors.Clustering;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Im.Host.Config;

public static class AkkaSetup
{
    public const string ActorSystemName = "im";

    /// <summary>
    /// A dead node is noticed after about 4 s without heartbeats (1 s interval, 3 s pause) and
    /// downed once membership has been stable for 7 s, so its groups move within roughly 15 s,
    /// well inside the 30 s target; the defaults (20 s stable-after) are sized for large clusters
    /// where a wrong downing costs more than a slow one. A peer that refused a connection (not
    /// started yet, or restarting) is retried after 1 s instead of 5 s: while an address is gated
    /// every message to it is dropped, and asks to entities there time out.
    /// </summary>
    private const string SmallClusterTuning = """
        akka.remote.retry-gate-closed-for = 1s
        akka.cluster.failure-detector.heartbeat-interval = 1s
        akka.cluster.failure-detector.acceptable-heartbeat-pause = 3s
        akka.cluster.split-brain-resolver.stable-after = 7s
        akka.cluster.down-removal-margin = 7s
        """;

    /// <summary>
    /// Split-brain resolution by a lease in Redis (see the README for why): the side that takes the
    /// lease stays up. The minority waits 2 s first so a majority, when there is one, wins. The lease
    /// outlives a dead holder by at most 15 s and is given back 10 s after a decision.
    /// </summary>
    private const string LeaseMajorityDowning = """
        akka.cluster.downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
        akka.cluster.split-brain-resolver {
          active-strategy = lease-majority
          lease-majority {
            lease-implementation = "im.cluster.redis-lease"
            lease-name = "im-akka-sbr"
            acquire-lease-delay-for-minority = 2s
            release-after = 10s
          }
        }
        im.cluster.redis-lease {
          lease-class = "Im.Actors.Clustering.RedisLease, Im.Actors"
          heartbeat-timeout = 15s
          heartbeat-interval = 3s
          lease-operation-timeout = 3s
        }
        """;

    private static async Task WaitForShardRegions(ActorSystem system, IActorRef[] regions, ClusterReadiness readiness,
        TaskCompletionSource<Address> regionsAnswered, ILogger logger)
    {
        while (!system.WhenTerminated.IsCompleted)
        {
            try
            {
                await Task.WhenAll(regions.Select(region => region.Ask<CurrentRegions>(GetCurrentRegions.Instance, TimeSpan.FromSeconds(3))));
                readiness.MarkUp();
                regionsAnswered.TrySetResult(Cluster.Get(system).SelfAddress);
                return;
            }
            catch (AskTimeoutException)
            {
                logger.LogInformation("Shard regions have not reached their coordinators yet; still answering 503");
            }
        }
    }

    /// <summary>
    /// Writes the Ready line once, when both are true: the shard regions answer (readiness goes up at that
    /// moment, not here) and the host has started. The line tells an operator that requests are served, but
    /// the regions of a node that joins itself usually answer before Kestrel listens, so written when they
    /// answered it came before the server listened and before the start-up line. ApplicationStarted fires
    /// after Kestrel listens and after every hosted service's StartedAsync, the start-up line's included.
    /// </summary>
    private static async Task LogReadyOnceServing(Task<Address> regionsAnswered, IHostApplicationLifetime lifetime, ILogger logger)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
            await Task.WhenAll(regionsAnswered, started.Task);
        logger.LogInformation("Ready: {Address} serves requests (its shard regions reach their coordinators)", await regionsAnswered);
    }

    /// <summary>
    /// Akka drops events below <c>akka.loglevel</c> before any logger sees them, for every source at
    /// once, and its events reach Microsoft.Extensions.Logging under their class's name
    /// (<c>Im.Actors.Sessions.SessionsActor</c>, <c>Akka.Cluster.ClusterCoreDaemon</c>). So Akka gets the
    /// lowest level any category is configured at, and the host's per-category filters decide the rest.
    /// </summary>
    private static Akka.Event.LogLevel AkkaLogLevel(IConfiguration configuration)
    {
        var levels = configuration.GetSection("Logging:LogLevel").GetChildren()
            .Select(level => Enum.TryParse<LogLevel>(level.Value, out var parsed) ? parsed : LogLevel.Information)
            .DefaultIfEmpty(LogLevel.Information);
        return levels.Min() switch
        {
            LogLevel.Trace or LogLevel.Debug => Akka.Event.LogLevel.DebugLevel,
            LogLevel.Information => Akka.Event.LogLevel.InfoLevel,
            LogLevel.Warning => Akka.Event.LogLevel.WarningLevel,
            _ => Akka.Event.LogLevel.ErrorLevel,
        };
    }

    public static void AddImAkka(this WebApplicationBuilder builder, ImActorServices services, AkkaNodeOptions node, string dataDir)
    {
        var readiness = new ClusterReadiness();
        builder.Services.AddSingleton(readiness);
        builder.Services.AddHealthChecks().AddCheck("shard-regions", readiness, tags: [HealthTags.Ready]);
        builder.Services.AddAkka(ActorSystemName, (akka, sp) =>
        {
            if (node.SerializeMessages)
                akka.AddHocon("akka.actor.serialize-messages = on", HoconAddMode.Prepend);
            akka.AddHocon(SmallClusterTuning, HoconAddMode.Prepend);
            // Akka.Persistence (loaded with sharding) creates its local snapshot directory even unused;
            // keep it with the node's other data instead of the working directory.
            akka.AddHocon($"akka.persistence.snapshot-store.local.dir = \"{Path.Combine(Path.GetFullPath(dataDir), "akka-snapshots").Replace("\\", "/")}\"",
                HoconAddMode.Prepend);
            akka.ConfigureLoggers(loggers =>
                {
                    // Akka drops events below its own level before the logger factory sees them.
                    loggers.LogLevel = AkkaLogLevel(builder.Configuration);
                    loggers.AddLoggerFactory();
                })
                .WithRemoting(new RemoteOptions
                {
                    HostName = node.Hostname,
                    PublicHostName = node.PublicHostname ?? node.Hostname,
                    Port = node.Port,
                })
                .WithClustering(new ClusterOptions { SeedNodes = node.SeedNodes })
                // After WithClustering, so that this downing strategy is the one in force.
                .AddHocon(LeaseMajorityDowning, HoconAddMode.Prepend)
                .AddSetup(new RedisLeaseSetup(services.Redis, services.Store.Keys.Prefix))
                .AddGroupActors(services)
                .AddUserActors(services)
                .AddNodeActors(services)
                .WithActorSystemLivenessCheck(tags: [HealthTags.Live])
                .WithAkkaClusterReadinessCheck(tags: [HealthTags.Ready])
                .AddStartup((system, registry) =>
                {
                    var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("Im.Host.Startup");
                    var cluster = Cluster.Get(system);
                    IActorRef[] regions = [registry.Get<GroupRegion>(), registry.Get<UserRegion>()];
                    var regionsAnswered = new TaskCompletionSource<Address>(TaskCreationOptions.RunContinuationsAsynchronously);
                    _ = LogReadyOnceServing(regionsAnswered.Task, sp.GetRequiredService<IHostApplicationLifetime>(), logger);
                    cluster.RegisterOnMemberUp(() => _ = WaitForShardRegions(system, regions, readiness, regionsAnswered, logger));
                    cluster.RegisterOnMemberRemoved(readiness.MarkDown);
                    // With no seed nodes there is no one to join but ourselves.
                    if (node.SeedNodes.Length == 0) cluster.Join(cluster.SelfAddress);
                    return Task.CompletedTask;
                });
        });
    }
}

/// <summary>
/// True from the moment this node is a member whose shard regions reach their coordinators until
/// it is removed: the window in which asks can be answered. Being Up is not enough: a node that
/// has just joined needs a moment to find the coordinators, and asks sent before that time out.
/// </summary>
public sealed class ClusterReadiness : IHealthCheck
{
    private volatile bool _up;

    public bool IsUp => _up;

    public void MarkUp() => _up = true;

    public void MarkDown() => _up = false;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_up ? HealthCheckResult.Healthy("shard regions ready") : HealthCheckResult.Unhealthy("shard regions not ready"));
}

public static class HealthTags
{
    public const string Live = "liveness";
    public const string Ready = "ready";
}
