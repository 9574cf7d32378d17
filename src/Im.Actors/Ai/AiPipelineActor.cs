using System.Diagnostics;
using System.Text;
using Akka;
using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;
using Im.Actors.Events;
using Im.Actors.Groups;
using Im.Actors.Storage;
using Im.Contracts;

namespace Im.Actors.Ai;

/// <summary>
/// Runs a node's AI calls and decides nothing about records: its group's writer asks for an
/// attempt (<see cref="AiPipeline.Call"/>) and hears how it ended (<see cref="GroupCommands.AiAnswered"/>).
/// The calls are a bounded stream: a queue of <c>Ai__MaxQueued</c> attempts (more fail at once with
/// <c>4001: AI queue full</c>) feeding at most <c>Ai__MaxConcurrency</c> calls at a time, unordered,
/// so one slow call holds no other back. The circuit breaker stands in front of the service.
/// While an answer streams in, this actor publishes <c>generating</c> and the <c>ai_delta</c>
/// pieces, at most one per <see cref="AiPipelineSettings.DeltaInterval"/>. A stop cancels the
/// call (the service sees its connection closed) and is acknowledged only when no more of its
/// frames can go out.
/// </summary>
public sealed class AiPipelineActor : ReceiveActor
{
    public const string Name = "ai";

    public const string QueueFull = $"{ErrorCodes.AiCallFailed}: AI queue full";
    public const string CircuitOpen = $"{ErrorCodes.AiCallFailed}: circuit open";
    public const string Interrupted = $"{ErrorCodes.AiCallFailed}: interrupted";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly AiPipelineSettings _settings;
    private readonly ImStore _store;
    private readonly AiClient _client;
    private readonly AiCircuitBreaker _breaker;
    private readonly ImMetrics _metrics;
    private readonly IActorRef _self;
    private readonly Dictionary<string, Job> _jobs = [];
    private ISourceQueueWithComplete<Job>? _queue;
    private readonly object _reportGate = new();
    private int _waiting;
    private int _running;

    public AiPipelineActor(AiPipelineSettings settings, ImStore store, AiClient client, AiCircuitBreaker breaker, ImMetrics metrics)
    {
        _settings = settings;
        _store = store;
        _client = client;
        _breaker = breaker;
        _metrics = metrics;
        _self = Self;
        Receive<AiPipeline.Call>(Enqueue);
        Receive<Offered>(Offer);
        Receive<AiPipeline.Stop>(stop =>
        {
            if (_jobs.TryGetValue(stop.RecordId, out var job) && job.Call.Attempt == stop.Attempt) job.Stop();
            Sender.Tell(new AiPipeline.Stopped(stop.RecordId, stop.Attempt));
        });
        Receive<Finished>(finished =>
        {
            if (_jobs.TryGetValue(finished.Job.Call.RecordId, out var job) && job == finished.Job) _jobs.Remove(job.Call.RecordId);
        });
        Receive<BreakerChanged>(changed => Announce(changed.State));
    }

    public static Props Props(AiPipelineSettings settings, ImStore store, AiClient client, AiCircuitBreaker breaker, ImMetrics metrics) =>
        Akka.Actor.Props.Create(() => new AiPipelineActor(settings, store, client, breaker, metrics));

    protected override void PreStart()
    {
        _breaker.Changed += OnBreakerChanged;
        _metrics.AiBreakerChanged((int)_breaker.Current);
        // Tied to this actor: stopping or restarting it ends the stream.
        _queue = Source.Queue<Job>(_settings.MaxQueued, OverflowStrategy.DropNew)
            .SelectAsyncUnordered(_settings.MaxConcurrency, Run)
            .To(Sink.Ignore<NotUsed>())
            .Run(Context.Materializer());
    }

    protected override void PostStop()
    {
        _breaker.Changed -= OnBreakerChanged;
        _queue?.Complete();
        // The writers still wait for these attempts: tell them they will not finish, so each record closes.
        foreach (var job in _jobs.Values)
        {
            job.Stop();
            job.ReplyTo.Tell(Answered(job.Call, new AiCallResult.Failed(ErrorCodes.AiCallFailed, "interrupted", 0)));
        }
        _jobs.Clear();
        _metrics.AiPool(0, 0);
    }

    private void OnBreakerChanged(AiCircuitBreaker.State state) => _self.Tell(new BreakerChanged(state));

    private void Announce(AiCircuitBreaker.State state)
    {
        _metrics.AiBreakerChanged((int)state);
        var what = state switch
        {
            AiCircuitBreaker.State.Open => "open: AI calls fail at once with 4001 until a probe succeeds",
            AiCircuitBreaker.State.HalfOpen => "half-open: one call probes the AI service",
            _ => "closed: AI calls go through again",
        };
        _log.Warning("AI circuit breaker {0}", what);
    }

    private void Enqueue(AiPipeline.Call call)
    {
        // A retry replaces whatever is left of an earlier attempt of the same record.
        if (_jobs.TryGetValue(call.RecordId, out var earlier)) earlier.Stop();
        var job = new Job(call, Sender);
        _jobs[call.RecordId] = job;
        Interlocked.Increment(ref _waiting);
        Report();
        _queue!.OfferAsync(job).PipeTo(Self,
            success: result => new Offered(job, result),
            failure: ex => new Offered(job, new QueueOfferResult.Failure(ex)));
    }

    private void Offer(Offered offered)
    {
        if (offered.Result is QueueOfferResult.Enqueued) return;
        var job = offered.Job;
        Interlocked.Decrement(ref _waiting);
        Report();
        if (_jobs.TryGetValue(job.Call.RecordId, out var current) && current == job) _jobs.Remove(job.Call.RecordId);
        _metrics.AiCallFinished(ErrorCodes.AiCallFailed, duration: null);
        job.ReplyTo.Tell(Answered(job.Call, new AiCallResult.Failed(ErrorCodes.AiCallFailed, "AI queue full", 0)));
        if (offered.Result is QueueOfferResult.Dropped)
        {
            _log.Warning("AI queue full ({0} waiting); failing record {1}", Volatile.Read(ref _waiting), job.Call.RecordId);
            return;
        }
        // The stream ended (it never should): a restart builds a new one, and PostStop fails what was in flight.
        throw new InvalidOperationException($"The AI call stream is gone: {offered.Result.GetType().Name}");
    }

    /// <summary>One attempt, start to end. Never throws: the stream must outlive every call.</summary>
    private async Task<NotUsed> Run(Job job)
    {
        Interlocked.Increment(ref _running);
        Interlocked.Decrement(ref _waiting);
        Report();
        try
        {
            if (await Attempt(job) is { } result) job.ReplyTo.Tell(Answered(job.Call, result));
        }
        catch (Exception ex)
        {
            _log.Error(ex, "AI attempt for record {0} failed unexpectedly", job.Call.RecordId);
            job.ReplyTo.Tell(Answered(job.Call, new AiCallResult.Failed(ErrorCodes.AiCallFailed, ex.GetType().Name, 0)));
        }
        finally
        {
            Interlocked.Decrement(ref _running);
            Report();
            _self.Tell(new Finished(job));
        }
        return NotUsed.Instance;
    }

    /// <summary>How the attempt ended; null when it was stopped (the writer that stopped it closes the record).</summary>
    private async Task<AiCallResult?> Attempt(Job job)
    {
        if (job.IsStopped) return null;
        if (!_breaker.TryEnter())
        {
            _metrics.AiCallFinished(ImMetrics.CircuitOpen, duration: null);
            return new AiCallResult.Failed(ErrorCodes.AiCallFailed, "circuit open", 0);
        }
        var call = job.Call;
        try
        {
            var context = await _store.MessagesInRange(call.GroupId, call.ContextFromSeq, call.ContextToSeq);
            var messages = AiClient.BuildMessages(_settings.SystemPrompt, context, await ImageToShow(call, context));
            using var writer = new ReplyWriter(job, _store, _settings.DeltaInterval);
            var result = await _client.Complete(messages, writer.Add, job.Token);
            // An answer's last piece goes out before its reply; the writer's end stops its timer, so nothing of a failed one follows.
            if (result is AiCallResult.Answered) await writer.Flush();
            if (job.IsStopped)
            {
                // Finished as the stop came in: the stop decides, so nothing may be stored.
                _breaker.Abandoned();
                return null;
            }
            if (result is AiCallResult.Failed failed)
            {
                _breaker.Failed();
                _metrics.AiCallFinished(failed.Code, TimeSpan.FromMilliseconds(failed.DurationMs));
                // The reason never holds message content; the record id is what an operator looks up.
                _log.Warning("AI call for record {0} (attempt {1}) failed: {2}", call.RecordId, call.Attempt, failed.ErrorMessage);
            }
            else
            {
                _breaker.Succeeded();
                _metrics.AiCallFinished(ImMetrics.Ok, TimeSpan.FromMilliseconds(result.DurationMs));
            }
            return result;
        }
        catch (OperationCanceledException) when (job.Token.IsCancellationRequested)
        {
            _breaker.Abandoned();
            _metrics.AiCallFinished(ImMetrics.Stopped, duration: null);
            return null;
        }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
        {
            // The store failed (reading the context, publishing a piece): nothing is known about the AI service.
            _breaker.Abandoned();
            _metrics.AiCallFinished(ErrorCodes.AiCallFailed, duration: null);
            return new AiCallResult.Failed(ErrorCodes.AiCallFailed, $"the store failed during the call: {ex.GetType().Name}", 0);
        }
    }

    /// <summary>The patient's image, when the triggering message is one and the model may see it (<c>Ai__Vision</c>).</summary>
    private async Task<VisionImage?> ImageToShow(AiPipeline.Call call, IReadOnlyList<MessageResponse> context)
    {
        if (!_settings.Vision || context.LastOrDefault() is not { Media: { } media } last || last.MessageId != call.UserMessageId) return null;
        return await _store.GetMediaBytes(media.MediaId) is { } bytes ? new VisionImage(last.MessageId, media.ContentType, bytes) : null;
    }

    /// <summary>
    /// Calls start and end on the stream's threads: the figures are read under one lock, so the last
    /// report after a change holds the counts as they are, not a snapshot another thread overtook.
    /// </summary>
    private void Report()
    {
        lock (_reportGate) _metrics.AiPool(Volatile.Read(ref _running), Volatile.Read(ref _waiting));
    }

    private static GroupCommands.AiAnswered Answered(AiPipeline.Call call, AiCallResult result) =>
        new(call.GroupId, call.RecordId, call.Attempt, result);

    /// <summary>
    /// An attempt in the pipeline. A stop and a publish take the same lock, so once <see cref="Stop"/>
    /// returns no frame of this attempt is published any more.
    /// </summary>
    private sealed class Job(AiPipeline.Call call, IActorRef replyTo)
    {
        private readonly object _gate = new();
        private readonly CancellationTokenSource _cancellation = new();
        private bool _stopped;

        public AiPipeline.Call Call => call;
        public IActorRef ReplyTo => replyTo;
        public CancellationToken Token => _cancellation.Token;

        public bool IsStopped
        {
            get
            {
                lock (_gate) return _stopped;
            }
        }

        public void Stop()
        {
            lock (_gate)
            {
                if (_stopped) return;
                _stopped = true;
            }
            _cancellation.Cancel();
        }

        /// <summary>
        /// Starts <paramref name="publish"/> unless the attempt is stopped. The store sends commands in
        /// the order they are started, so what starts before a stop reaches clients before the record closes.
        /// </summary>
        public Task PublishUnlessStopped(Func<Task> publish)
        {
            lock (_gate)
            {
                return _stopped ? Task.CompletedTask : publish();
            }
        }
    }

    /// <summary>
    /// Turns the answer's pieces into events: <c>generating</c> before the first piece, then pieces
    /// gathered so that at most one <c>ai_delta</c> goes out per interval, and none waits longer than
    /// that: a timer sends what was gathered when the model pauses. Pieces come on the call's thread
    /// and the timer fires on another, so both take one lock and start their publish under it, which
    /// keeps the pieces in order; once disposed, nothing more goes out.
    /// </summary>
    private sealed class ReplyWriter : IDisposable
    {
        private readonly object _gate = new();
        private readonly StringBuilder _pending = new();
        private readonly Job _job;
        private readonly ImStore _store;
        private readonly TimeSpan _interval;
        private readonly Timer _timer;
        private readonly IReadOnlyList<string> _watchers;
        private long _lastSent;
        private int _index;
        private bool _timerSet;
        private bool _disposed;

        public ReplyWriter(Job job, ImStore store, TimeSpan interval)
        {
            _job = job;
            _store = store;
            _interval = interval;
            _watchers = [.. job.Call.Recipients];
            _timer = new Timer(_ => FlushWhenDue());
        }

        public Task Add(string text)
        {
            lock (_gate)
            {
                if (_disposed) return Task.CompletedTask;
                _pending.Append(text);
                var since = Stopwatch.GetElapsedTime(_lastSent);
                if (_index == 0 || since >= _interval) return FlushLocked();
                if (!_timerSet)
                {
                    _timerSet = true;
                    _timer.Change(_interval - since, Timeout.InfiniteTimeSpan);
                }
                return Task.CompletedTask;
            }
        }

        /// <summary>Sends what is gathered now: the end of the answer.</summary>
        public Task Flush()
        {
            lock (_gate)
            {
                return _disposed ? Task.CompletedTask : FlushLocked();
            }
        }

        public void Dispose()
        {
            lock (_gate)
            {
                if (_disposed) return;
                _disposed = true;
                _pending.Clear();
            }
            _timer.Dispose();
        }

        private void FlushWhenDue()
        {
            Task sent;
            lock (_gate)
            {
                _timerSet = false;
                if (_disposed) return;
                sent = FlushLocked();
            }
            // A piece the store failed to take is lost to the live view only: the stored reply is whole.
            sent.ContinueWith(static t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
        }

        private Task FlushLocked()
        {
            if (_timerSet)
            {
                _timerSet = false;
                _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
            if (_pending.Length == 0) return Task.CompletedTask;
            var text = _pending.ToString();
            _pending.Clear();
            _lastSent = Stopwatch.GetTimestamp();
            var call = _job.Call;
            var index = _index++;
            return _job.PublishUnlessStopped(() => Task.WhenAll(
                index == 0
                    ? _store.Publish(new AiStateChanged(call.GroupId, _watchers, call.RecordId, call.UserMessageId, AiStates.Generating)
                        { Seq = call.ContextToSeq })
                    : Task.CompletedTask,
                _store.Publish(new AiPieceWritten(call.GroupId, _watchers, call.RecordId, index, text) { Seq = call.ContextToSeq })));
        }
    }

    private sealed record Offered(Job Job, IQueueOfferResult Result) : ILocalOnly;

    private sealed record Finished(Job Job) : ILocalOnly;

    private sealed record BreakerChanged(AiCircuitBreaker.State State) : ILocalOnly;
}
