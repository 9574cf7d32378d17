using Akka.Actor;
using Akka.Event;

namespace Im.Actors;

/// <summary>
/// The single writer of an entity. Its decisions run on its own thread; only store I/O runs in
/// tasks, piped back. Two kinds of write:
/// <list type="bullet">
/// <item><see cref="RunWrite"/>, exclusive: commands that arrive meanwhile wait in the stash, so
/// they are decided against the state the write leaves.</item>
/// <item><see cref="RunPipelined"/>, for writes whose outcome no later decision needs (a plain
/// message's append): up to <see cref="MaxPipelined"/> run at once. Each is one store command sent on
/// the store's one connection in the order the writer decided them, so the store applies them in
/// that order (a group's <c>seq</c> follows the commands' order, as with one write at a time) without
/// waiting a round trip for each.</item>
/// </list>
/// A command that may not run beside pipelined writes (see <see cref="ReceivePipelinedWrites"/>)
/// waits, with everything after it, until they are all done. A reply goes out only after its write
/// is in the store.
/// </summary>
public abstract class SingleWriterActor : ReceiveActor, IWithStash
{
    /// <summary>At most this many pipelined writes in flight; the next command waits for one to finish.</summary>
    public const int MaxPipelined = 64;

    protected readonly ILoggingAdapter Log = Context.GetLogger();
    private int _pipelined;
    private int _drainBelow;

    public IStash Stash { get; set; } = null!;

    /// <summary>Whether pipelined writes are in flight (an entity does not passivate then).</summary>
    protected bool WritesInFlight => _pipelined > 0;

    /// <summary>
    /// Starts <paramref name="write"/> and waits for it. Its result is the reply (none for a command
    /// nobody waits on) and an optional step to run on the actor's own thread before the reply goes
    /// out (to update state).
    /// </summary>
    protected void RunWrite(object command, Func<Task<WriteResult>> write) => RunWrite(command, Sender, write);

    /// <inheritdoc cref="RunWrite(object, Func{Task{WriteResult}})"/>
    /// <param name="replyTo">Who gets the reply: the sender of a command decided earlier.</param>
    protected void RunWrite(object command, IActorRef replyTo, Func<Task<WriteResult>> write)
    {
        if (_pipelined > 0)
            throw new InvalidOperationException($"{command.GetType().Name} is an exclusive write, but pipelined writes are in flight");
        BecomeStacked(Writing);
        write().PipeTo(Self,
            success: result => new WriteFinished(replyTo, result),
            failure: ex => new WriteFailed(replyTo, command, ex));
    }

    /// <summary>
    /// Starts <paramref name="write"/> and goes on with the next command. <paramref name="write"/> must send
    /// its store command before its first await, so that the store gets the commands in the writer's order.
    /// </summary>
    protected void RunPipelined(object command, Func<Task<WriteResult>> write)
    {
        var replyTo = Sender;
        _pipelined++;
        write().PipeTo(Self,
            success: result => new PipelinedFinished(replyTo, result),
            failure: ex => new PipelinedFailed(replyTo, command, ex));
    }

    /// <summary>
    /// Registered first in the behaviour that starts pipelined writes: takes their results, and holds
    /// a command that may not run beside them (<paramref name="mayRunBeside"/> false), and every
    /// command after it, until they are done.
    /// </summary>
    protected void ReceivePipelinedWrites(Predicate<object> mayRunBeside)
    {
        Receive<PipelinedFinished>(PipelinedDone);
        Receive<PipelinedFailed>(PipelinedDone);
        Receive<object>(message => _pipelined > 0 && (_pipelined >= MaxPipelined || !mayRunBeside(message)), _ =>
        {
            // Full: wait for one; otherwise for all.
            _drainBelow = _pipelined >= MaxPipelined ? MaxPipelined : 1;
            Stash.Stash();
            BecomeStacked(WaitingForPipelined);
        });
    }

    private void WaitingForPipelined()
    {
        Receive<PipelinedFinished>(finished =>
        {
            PipelinedDone(finished);
            StopWaitingOnceDrained();
        });
        Receive<PipelinedFailed>(failed =>
        {
            PipelinedDone(failed);
            StopWaitingOnceDrained();
        });
        ReceiveAny(_ => Stash.Stash());
    }

    private void StopWaitingOnceDrained()
    {
        if (_pipelined >= _drainBelow) return;
        UnbecomeStacked();
        Stash.UnstashAll();
    }

    private void PipelinedDone(PipelinedFinished finished)
    {
        _pipelined--;
        Finished(finished.ReplyTo, finished.Result);
    }

    private void PipelinedDone(PipelinedFailed failed)
    {
        _pipelined--;
        Failed(failed.ReplyTo, failed.Command, failed.Cause);
    }

    private void Writing()
    {
        Receive<WriteFinished>(finished =>
        {
            UnbecomeStacked();
            Finished(finished.ReplyTo, finished.Result);
            Stash.UnstashAll();
        });
        Receive<WriteFailed>(failed =>
        {
            UnbecomeStacked();
            Failed(failed.ReplyTo, failed.Command, failed.Cause);
            Stash.UnstashAll();
        });
        ReceiveAny(_ => Stash.Stash());
    }

    private static void Finished(IActorRef replyTo, WriteResult result)
    {
        result.Then?.Invoke();
        if (result.Reply is { } reply) replyTo.Tell(reply);
    }

    private void Failed(IActorRef replyTo, object command, Exception cause)
    {
        var error = Errors.For(cause);
        Log.Warning(cause, "{0} failed for {1}: {2}", command.GetType().Name, Self.Path.Name, error.Code);
        if (command is IRefusable refusable) replyTo.Tell(refusable.Refuse(error));
        else UnansweredWriteFailed(command);
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

    private sealed record PipelinedFinished(IActorRef ReplyTo, WriteResult Result) : ILocalOnly;

    private sealed record PipelinedFailed(IActorRef ReplyTo, object Command, Exception Cause) : ILocalOnly;
}
