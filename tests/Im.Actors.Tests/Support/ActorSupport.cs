using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.TestKit;
using Im.Actors.Ai;
using Im.Actors.Sessions;
using Im.Contracts;

namespace Im.Actors.Tests.Support;

public static class ActorSpecs
{
    /// <summary>
    /// Every message serialized, even on one node, so that cluster-only serialization bugs show here; and
    /// the sessions' mailbox, as the host configures it.
    /// </summary>
    public static readonly string SerializingConfig = $"""
        akka.actor.serialize-messages = on
        akka.loglevel = WARNING
        {SessionMailbox.Hocon}
        """;

    /// <summary>
    /// Tells <paramref name="target"/> the message from a probe, not Ask's temporary actor, so the
    /// reply is serialized on its way back too, and waits for the <c>Outcome</c> the message names.
    /// </summary>
    public static async Task<Outcome<T>> AskThroughProbe<T>(this TestKitBase kit, IActorRef target, IRepliedWith<T> message, TimeSpan timeout)
        where T : class
    {
        var replyTo = kit.CreateTestProbe();
        target.Tell(message, replyTo.Ref);
        return await replyTo.ExpectMsgAsync<Outcome<T>>(timeout);
    }
}

/// <summary>What an actor's <see cref="Outcome{T}"/> reply must be: a value, or a refusal with one code.</summary>
public static class OutcomeAssert
{
    public static T Ok<T>(Outcome<T> outcome) where T : class
    {
        Assert.Null(outcome.Error);
        return Assert.IsType<T>(outcome.Value);
    }

    public static void Refused<T>(string code, Outcome<T> outcome) where T : class
    {
        Assert.Null(outcome.Value);
        Assert.Equal(code, outcome.Error?.Code);
    }
}

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
