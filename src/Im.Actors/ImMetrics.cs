using System.Diagnostics.Metrics;
using Im.Contracts;

namespace Im.Actors;

/// <summary>
/// Every <c>im_*</c> series of DESIGN.md, on one <see cref="Meter"/> named <see cref="MeterName"/>.
/// The counts live here as plain numbers and are reported through observable instruments, so each
/// series, with every label value it can take, is exported from start-up at 0: a counter that first
/// appears at 1 hides its first increase from <c>rate()</c>, and an absent series cannot be alerted on.
/// The same numbers answer the ops page, so <c>/metrics</c> and <c>/api/ops/cluster</c> never disagree.
/// Thread-safe: actors, the WebSocket pump and the exporter's scrape touch it concurrently.
/// </summary>
public sealed class ImMetrics : IDisposable
{
    public const string MeterName = "ImAkka";

    /// <summary>The outcomes an AI call is counted under: success, the record's business codes, a call an open circuit refused.</summary>
    public static readonly IReadOnlyList<string> AiOutcomes =
        [Ok, ErrorCodes.AiCallFailed, ErrorCodes.AiTimeout, ErrorCodes.AiBadResponse, Stopped, CircuitOpen];

    public static readonly IReadOnlyList<string> MessageTypesCounted = [MessageTypes.Text, MessageTypes.Image, MessageTypes.AiReply];

    /// <summary>
    /// Seconds. AI answers take from a fraction of a second (the stand-in, a cached reply) to the
    /// 30 s default timeout and beyond; OpenTelemetry's default buckets stop resolving at 10 s.
    /// </summary>
    public static readonly IReadOnlyList<double> AiCallDurationBuckets = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120];

    public const string AiCallDurationInstrument = "im_ai_call_duration";
    public const string AiCallDurationDescription = "Time of this node's AI calls, from the request to the end of the answer.";

    public const string Ok = "ok";
    public const string Stopped = "4004";
    public const string CircuitOpen = "circuit_open";

    /// <summary>What <c>im_ai_breaker_state</c> and the ops page say: 0 closed, 1 half-open, 2 open.</summary>
    public static readonly IReadOnlyList<string> BreakerStates = ["closed", "half-open", "open"];

    private readonly long[] _messagesStored = new long[MessageTypesCounted.Count];
    private readonly long[] _aiCalls = new long[AiOutcomes.Count];
    private readonly Histogram<double> _aiCallDuration;
    private long _webSockets;
    private long _pushes;
    private long _fanoutEvents;
    private long _aiInFlight;
    private long _aiQueued;
    private long _groupActors;
    private long _askTimeouts;
    private int _aiCallDurationRecorded;
    private int _aiBreakerState;

    public ImMetrics()
    {
        Meter = new Meter(MeterName);
        Meter.CreateObservableCounter("im_messages_stored",
            () => MessageTypesCounted.Select((type, i) => new Measurement<long>(Volatile.Read(ref _messagesStored[i]), Tag("msg_type", type))),
            description: "Messages written to the store by this node's group actors, by msg_type.");
        Meter.CreateObservableUpDownCounter("im_websocket_connections", () => Volatile.Read(ref _webSockets),
            description: "WebSocket connections open on this node.");
        Meter.CreateObservableCounter("im_pushes", () => Volatile.Read(ref _pushes),
            description: "Pushed frames queued to this node's WebSocket connections.");
        Meter.CreateObservableCounter("im_fanout_events", () => Volatile.Read(ref _fanoutEvents),
            description: "Events (a frame and its recipients: messages, AI states and pieces) this node's fan-out received from the store.");
        Meter.CreateObservableCounter("im_ai_calls",
            () => AiOutcomes.Select((outcome, i) => new Measurement<long>(Volatile.Read(ref _aiCalls[i]), Tag("outcome", outcome))),
            description: "AI calls this node finished, by outcome: ok, the record's code, or circuit_open.");
        _aiCallDuration = Meter.CreateHistogram(AiCallDurationInstrument, unit: "s", description: AiCallDurationDescription,
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = AiCallDurationBuckets });
        Meter.CreateObservableUpDownCounter("im_ai_calls_in_flight", () => Volatile.Read(ref _aiInFlight),
            description: "AI calls running on this node.");
        Meter.CreateObservableUpDownCounter("im_ai_queue_length", () => Volatile.Read(ref _aiQueued),
            description: "AI calls waiting on this node for a free caller.");
        Meter.CreateObservableGauge("im_ai_breaker_state", () => AiBreakerState,
            description: "The AI circuit breaker of this node: 0 closed, 1 half-open, 2 open.");
        Meter.CreateObservableUpDownCounter("im_group_actors", () => Volatile.Read(ref _groupActors),
            description: "Group actors alive on this node.");
        Meter.CreateObservableCounter("im_ask_timeouts", () => Volatile.Read(ref _askTimeouts),
            description: "Asks to actors that got no answer in time (each is a 503 or a send the client must retry).");
    }

    public Meter Meter { get; }

    public void MessageStored(string msgType)
    {
        var i = IndexOf(MessageTypesCounted, msgType);
        if (i >= 0) Interlocked.Increment(ref _messagesStored[i]);
    }

    /// <summary>Counts a socket as open until the returned handle is disposed (once, however often it is disposed).</summary>
    public IDisposable WebSocketOpened()
    {
        Interlocked.Increment(ref _webSockets);
        return new Release(() => Interlocked.Decrement(ref _webSockets));
    }

    public void PushDelivered() => Interlocked.Increment(ref _pushes);

    public void FanoutEventReceived() => Interlocked.Increment(ref _fanoutEvents);

    /// <param name="outcome">One of <see cref="AiOutcomes"/>; a code it does not list counts as 4001, the catch-all failure.</param>
    /// <param name="duration">The call's own time; null when no call was made (the circuit was open, or the context could not be read).</param>
    public void AiCallFinished(string outcome, TimeSpan? duration)
    {
        var i = IndexOf(AiOutcomes, outcome);
        Interlocked.Increment(ref _aiCalls[i >= 0 ? i : 1]);
        if (duration is { } d)
        {
            _aiCallDuration.Record(d.TotalSeconds);
            Volatile.Write(ref _aiCallDurationRecorded, 1);
        }
    }

    /// <summary>The AI router's pool as it is now: set, not added, because the router alone knows it.</summary>
    public void AiPool(int inFlight, int queued)
    {
        Volatile.Write(ref _aiInFlight, inFlight);
        Volatile.Write(ref _aiQueued, queued);
    }

    public void GroupActorStarted() => Interlocked.Increment(ref _groupActors);

    public void GroupActorStopped() => Interlocked.Decrement(ref _groupActors);

    public void AskTimedOut() => Interlocked.Increment(ref _askTimeouts);

    public long MessagesStored(string msgType) =>
        IndexOf(MessageTypesCounted, msgType) is var i and >= 0 ? Volatile.Read(ref _messagesStored[i]) : 0;

    public long WebSocketConnections => Volatile.Read(ref _webSockets);

    public long Pushes => Volatile.Read(ref _pushes);

    public long FanoutEvents => Volatile.Read(ref _fanoutEvents);

    public long AiCalls(string outcome) => IndexOf(AiOutcomes, outcome) is var i and >= 0 ? Volatile.Read(ref _aiCalls[i]) : 0;

    public long AiCallsInFlight => Volatile.Read(ref _aiInFlight);

    public long AiQueueLength => Volatile.Read(ref _aiQueued);

    /// <summary>The node's AI circuit breaker: 0 closed, 1 half-open, 2 open (set by the breaker as it changes).</summary>
    public int AiBreakerState => Volatile.Read(ref _aiBreakerState);

    public void AiBreakerChanged(int state) => Volatile.Write(ref _aiBreakerState, state);

    public string AiBreaker => BreakerStates[AiBreakerState];

    public long GroupActors => Volatile.Read(ref _groupActors);

    public long AskTimeouts => Volatile.Read(ref _askTimeouts);

    /// <summary>
    /// Whether <c>im_ai_call_duration_seconds</c> has a measurement. OpenTelemetry exports a
    /// histogram only from its first one, so until then the host adds the empty histogram itself.
    /// </summary>
    public bool AiCallDurationRecorded => Volatile.Read(ref _aiCallDurationRecorded) == 1;

    public void Dispose() => Meter.Dispose();

    private static KeyValuePair<string, object?> Tag(string name, string value) => new(name, value);

    private static int IndexOf(IReadOnlyList<string> values, string value)
    {
        for (var i = 0; i < values.Count; i++)
        {
            if (string.Equals(values[i], value, StringComparison.Ordinal)) return i;
        }
        return -1;
    }

    private sealed class Release(Action release) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) release();
        }
    }
}
