using Akka.Actor;
using Akka.Event;

namespace Im.Actors;

/// <summary>
/// Runs one store write at a time. Commands that arrive meanwhile wait in the stash, so writes
/// happen in the order the commands arrived, and the reply is sent only after the write is in
/// the store. The actor never blocks: the write is a task piped back to it.
/// </summary>
public abstract class SingleWriterActor : ReceiveActor, IWithStash
{
    protected readonly ILoggingAdapter Log = Context.GetLogger();

    public IStash Stash { get; set; } = null!;

    /// <summary>
    /// Starts <paramref name="write"/> and waits for it. Its result is the reply (none for a command
    /// nobody waits on) and an optional step to run on the actor's own thread before the reply goes
    /// out (to update state).
    /// </summary>
    protected void RunWrite(object command, Func<Task<WriteResult>> write)
    {
        var replyTo = Sender;
        BecomeStacked(Writing);
        write().PipeTo(Self,
            success: result => new WriteFinished(replyTo, result),
            failure: ex => new WriteFailed(replyTo, command, ex));
    }

    private void Writing()
    {
        Receive<WriteFinished>(finished =>
        {
            UnbecomeStacked();
            finished.Result.Then?.Invoke();
            if (finished.Result.Reply is { } reply) finished.ReplyTo.Tell(reply);
            Stash.UnstashAll();
        });
        Receive<WriteFailed>(failed =>
        {
            UnbecomeStacked();
            var error = Errors.For(failed.Cause);
            Log.Warning(failed.Cause, "{0} failed for {1}: {2}", failed.Command.GetType().Name, Self.Path.Name, error.Code);
            if (failed.Command is IRefusable refusable) failed.ReplyTo.Tell(refusable.Refuse(error));
            else UnansweredWriteFailed(failed.Command);
            Stash.UnstashAll();
        });
        ReceiveAny(_ => Stash.Stash());
    }

    /// <summary>A write nobody waits on failed (the store is down): the actor decides whether to try again.</summary>
    protected virtual void UnansweredWriteFailed(object command)
    {
    }

    /// <summary>Asks the shard to stop this entity; what arrives meanwhile is buffered and starts a fresh one.</summary>
    protected void Passivate()
    {
        Context.SetReceiveTimeout(null);
        Context.Parent.Tell(new Akka.Cluster.Sharding.Passivate(StopEntity.Instance));
    }

    protected sealed record WriteResult(object? Reply, Action? Then = null);

    private sealed record WriteFinished(IActorRef ReplyTo, WriteResult Result) : ILocalOnly;

    private sealed record WriteFailed(IActorRef ReplyTo, object Command, Exception Cause) : ILocalOnly;
}
