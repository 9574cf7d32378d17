using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Im.Actors;

namespace Im.Host.Config;

public static class AkkaSetup
{
    public const string ActorSystemName = "im";

    public static void AddImAkka(this WebApplicationBuilder builder, ImActorServices services, AkkaNodeOptions node)
    {
        var readiness = new ClusterReadiness();
        builder.Services.AddSingleton(readiness);
        builder.Services.AddAkka(ActorSystemName, (akka, sp) =>
        {
            if (node.SerializeMessages)
                akka.AddHocon("akka.actor.serialize-messages = on", HoconAddMode.Prepend);
            akka.ConfigureLoggers(loggers => loggers.AddLoggerFactory())
                .WithRemoting(new RemoteOptions
                {
                    HostName = node.Hostname,
                    PublicHostName = node.PublicHostname ?? node.Hostname,
                    Port = node.Port,
                })
                .WithClustering(new ClusterOptions { SeedNodes = node.SeedNodes })
                .AddGroupActors(services)
                .AddUserActors(services)
                .AddNodeActors(services)
                .WithActorSystemLivenessCheck(tags: [HealthTags.Live])
                .WithAkkaClusterReadinessCheck(tags: [HealthTags.Ready])
                .AddStartup(async (system, _) =>
                {
                    var cluster = Cluster.Get(system);
                    cluster.RegisterOnMemberUp(readiness.MarkUp);
                    cluster.RegisterOnMemberRemoved(readiness.MarkDown);
                    var alone = node.SeedNodes.Length == 0;
                    // With no seed nodes there is no one to join but ourselves.
                    if (alone) cluster.Join(cluster.SelfAddress);
                    var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("Im.Host.Startup");
                    try
                    {
                        await StoreMaintenance.Run(services.Store, services.Ai, closeInterruptedRecords: alone, logger);
                    }
                    catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
                    {
                        logger.LogError(ex, "Start-up maintenance of the store failed; is the store reachable?");
                    }
                });
        });
    }
}

/// <summary>True between this node's MemberUp and its removal: the window in which asks can be answered.</summary>
public sealed class ClusterReadiness
{
    private volatile bool _up;

    public bool IsUp => _up;

    public void MarkUp() => _up = true;

    public void MarkDown() => _up = false;
}

public static class HealthTags
{
    public const string Live = "liveness";
    public const string Ready = "ready";
}
