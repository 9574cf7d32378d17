using System.Diagnostics.Metrics;
using Im.Contracts;

namespace Im.Actors.Tests;

/// <summary>
/// The instruments as any listener sees them (OpenTelemetry's exporter is one): every series and
/// every label value from the start, at 0, and each count moved only by what it counts.
/// </summary>
public sealed class ImMetricsSpecs : IDisposable
{
    private readonly ImMetrics _metrics = new();

    public void Dispose() => _metrics.Dispose();

    /// <summary>What a listener on this instance's meter reads now: (instrument, label) → value.</summary>
    private Dictionary<(string Instrument, string? Label), double> Observe()
    {
        var seen = new Dictionary<(string, string?), double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, _metrics.Meter)) l.EnableMeasurementEvents(instrument);
        };
        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
            seen[(instrument.Name, tags.Length == 0 ? null : $"{tags[0].Key}={tags[0].Value}")] = value;
        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<int>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
        listener.Start();
        listener.RecordObservableInstruments();
        return seen;
    }

    [Fact]
    public void Should_report_every_series_and_label_value_at_zero_before_anything_happens()
    {
        var seen = Observe();

        (string, string?)[] expected =
        [
            ("im_messages_stored", "msg_type=TEXT"), ("im_messages_stored", "msg_type=IMAGE"), ("im_messages_stored", "msg_type=AI_REPLY"),
            ("im_websocket_connections", null), ("im_pushes", null), ("im_fanout_events", null),
            ("im_ai_calls", "outcome=ok"), ("im_ai_calls", "outcome=4001"), ("im_ai_calls", "outcome=4002"),
            ("im_ai_calls", "outcome=4003"), ("im_ai_calls", "outcome=4004"), ("im_ai_calls", "outcome=circuit_open"),
            ("im_ai_calls_in_flight", null), ("im_ai_queue_length", null), ("im_ai_breaker_state", null),
            ("im_group_actors", null), ("im_ask_timeouts", null),
        ];
        Assert.Equal(expected.Order(), seen.Keys.Order());
        Assert.All(seen.Values, value => Assert.Equal(0, value));
    }

    [Fact]
    public void Should_count_what_happened_under_its_own_series()
    {
        _metrics.MessageStored(MessageTypes.Text);
        _metrics.MessageStored(MessageTypes.Text);
        _metrics.MessageStored(MessageTypes.AiReply);
        _metrics.PushDelivered();
        _metrics.FanoutEventReceived();
        _metrics.GroupActorStarted();
        _metrics.GroupActorStarted();
        _metrics.GroupActorStopped();
        _metrics.AskTimedOut();
        _metrics.AiPool(inFlight: 3, queued: 7);

        var seen = Observe();

        Assert.Equal(2, seen[("im_messages_stored", "msg_type=TEXT")]);
        Assert.Equal(0, seen[("im_messages_stored", "msg_type=IMAGE")]);
        Assert.Equal(1, seen[("im_messages_stored", "msg_type=AI_REPLY")]);
        Assert.Equal((1, 1, 1, 1), (seen[("im_pushes", null)], seen[("im_fanout_events", null)], seen[("im_group_actors", null)],
            seen[("im_ask_timeouts", null)]));
        Assert.Equal((3, 7), (seen[("im_ai_calls_in_flight", null)], seen[("im_ai_queue_length", null)]));
        Assert.Equal(0, seen[("im_ai_breaker_state", null)]);
        Assert.Equal("closed", _metrics.AiBreaker);
    }

    [Fact]
    public void Should_count_a_socket_open_until_released_once_however_often_it_is_released()
    {
        var first = _metrics.WebSocketOpened();
        using (_metrics.WebSocketOpened())
        {
            Assert.Equal(2, Observe()[("im_websocket_connections", null)]);
            first.Dispose();
            first.Dispose();
            Assert.Equal(1, _metrics.WebSocketConnections);
        }
        Assert.Equal(0, _metrics.WebSocketConnections);
    }

    [Fact]
    public void Should_time_only_calls_that_were_made_and_count_an_unknown_outcome_as_4001()
    {
        var durations = new List<double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, _metrics.Meter) && instrument.Name == ImMetrics.AiCallDurationInstrument)
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<double>((_, value, _, _) => durations.Add(value));
        listener.Start();
        Assert.False(_metrics.AiCallDurationRecorded);

        _metrics.AiCallFinished(ImMetrics.CircuitOpen, duration: null);
        Assert.False(_metrics.AiCallDurationRecorded);
        _metrics.AiCallFinished(ImMetrics.Ok, TimeSpan.FromMilliseconds(1500));
        _metrics.AiCallFinished("9999", TimeSpan.FromSeconds(2));

        Assert.Equal([1.5, 2.0], durations);
        Assert.True(_metrics.AiCallDurationRecorded);
        Assert.Equal((1, 1, 1, 0), (_metrics.AiCalls(ImMetrics.Ok), _metrics.AiCalls(ImMetrics.CircuitOpen),
            _metrics.AiCalls(ErrorCodes.AiCallFailed), _metrics.AiCalls(ErrorCodes.AiTimeout)));
    }
}
