using Akka.Actor;
using Akka.Event;
using Im.Actors.Groups;
using Im.Actors.Storage;
using Im.Contracts;

namespace Im.Actors.Ai;

/// <summary>
/// One per node, in front of a pool of <see cref="AiCallerActor"/>s: at most
/// <c>Ai__MaxConcurrency</c> calls in flight, the rest wait in a bounded queue. A caller that
/// crashes is restarted by the default strategy and its record is failed, so none stays at 0.
/// </summary>
public sealed class AiRouterActor : ReceiveActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly AiSettings _settings;
    private readonly ImStore _store;
    private readonly Queue<AiCommands.Forward> _waiting = new();
    private readonly Stack<IActorRef> _idle = new();
    private readonly Func<IActorRef> _newCaller;
    private readonly ImMetrics _metrics;
    private int _callers;

    public AiRouterActor(AiSettings settings, ImStore store, AiClient client, IActorRef groups, TimeSpan askTimeout, ImMetrics metrics)
    {
        _settings = settings;
        _store = store;
        _metrics = metrics;
        _newCaller = () => Context.ActorOf(AiCallerActor.Props(settings, store, client, groups, askTimeout, metrics), $"caller-{++_callers}");
        Receive<AiCommands.Forward>(work =>
        {
            Enqueue(work);
            ReportPool();
        });
        Receive<AiCallerActor.Finished>(_ =>
        {
            Dispatch(Sender);
            ReportPool();
        });
    }

    public static Props Props(AiSettings settings, ImStore store, AiClient client, IActorRef groups, TimeSpan askTimeout, ImMetrics metrics) =>
        Akka.Actor.Props.Create(() => new AiRouterActor(settings, store, client, groups, askTimeout, metrics));

    /// <summary>Every caller not idle is on a call; only this actor sees the whole pool, so it reports it.</summary>
    private void ReportPool() => _metrics.AiPool(_callers - _idle.Count, _waiting.Count);

    private void Enqueue(AiCommands.Forward work)
    {
        if (_idle.Count > 0)
        {
            _idle.Pop().Tell(work);
        }
        else if (_callers < _settings.MaxConcurrency)
        {
            _newCaller().Tell(work);
        }
        else if (_waiting.Count < _settings.MaxQueued)
        {
            _waiting.Enqueue(work);
        }
        else
        {
            _log.Warning("AI queue full ({0} waiting); failing record {1}", _waiting.Count, work.RecordId);
            // Counted as its record is closed, so im_ai_calls_total agrees with the records; no call, no duration.
            _metrics.AiCallFinished(ErrorCodes.AiCallFailed, duration: null);
            _store.FailRecord(work.RecordId, $"{ErrorCodes.AiCallFailed}: AI queue full", null)
                .PipeTo(Self, success: _ => new Ignored(), failure: _ => new Ignored());
        }
    }

    private void Dispatch(IActorRef caller)
    {
        if (_waiting.TryDequeue(out var next)) caller.Tell(next);
        else _idle.Push(caller);
    }

    private sealed record Ignored : ILocalOnly;
}
