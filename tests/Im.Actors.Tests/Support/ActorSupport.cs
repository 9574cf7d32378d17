using Akka.Actor;
using Akka.Cluster.Sharding;
using Im.Actors.Ai;

namespace Im.Actors.Tests.Support;

/// <summary>An AI endpoint that is just a URL.</summary>
public sealed class FixedAiEndpoint(string url) : IAiEndpoint
{
    public string Url { get; } = url;
}

/// <summary>
/// Stands in for the shard: the entity is its child, commands are forwarded to it (so the asker
/// gets the reply), and what the entity tells its parent, such as <see cref="Passivate"/>, goes to a probe.
/// </summary>
public sealed class ShardStandIn : ReceiveActor
{
    public ShardStandIn(Props entity, IActorRef parentProbe)
    {
        var child = Context.ActorOf(entity, "entity");
        Receive<Passivate>(passivate => parentProbe.Forward(passivate));
        ReceiveAny(command => child.Forward(command));
    }

    public static Props Props(Props entity, IActorRef parentProbe) =>
        Akka.Actor.Props.Create(() => new ShardStandIn(entity, parentProbe));
}
