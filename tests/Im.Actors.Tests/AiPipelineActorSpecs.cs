using Im.Actors.Events;
using System.Text.Json;
using Akka.Actor;
using Akka.TestKit;
using Im.Actors.Ai;
using Im.Actors.Storage;
using Im.Actors.Tests.Support;
using Im.Contracts;
using Im.TestSupport;
using StackExchange.Redis;
using Xunit.Abstractions;
using static Im.Actors.Groups.GroupCommands;

namespace Im.Actors.Tests;

/// <summary>
/// The node's AI pipeline over a real store (embedded Garnet) and the stand-in AI service, with a
/// probe as the group writer that asks for attempts. What clients would see is read from the
/// store's events channel, where the pipeline publishes it.
/// </summary>
public sealed class AiPipelineActorSpecs : Akka.TestKit.Xunit2.TestKit, IClassFixture<GarnetStoreServer>, IClassFixture<AiServerFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private readonly GarnetStoreServer _server;
    private readonly StandInAiServer _ai;
    private readonly ImStore _store;
    private readonly ImMetrics _metrics = new();
    private readonly ManualClock _clock = new(new DateTimeOffset(2025, 1, 27, 12, 0, 0, TimeSpan.Zero));
    private readonly TestProbe _writer;
    private readonly string _groupId = Ids.NewGroupId(DateTimeOffset.UtcNow);

    public AiPipelineActorSpecs(GarnetStoreServer server, AiServerFixture ai, ITestOutputHelper output)
        : base(ActorSpecs.SerializingConfig, output: output)
    {
        _server = server;
        _ai = ai.Server;
        _store = server.NewStore();
        _writer = CreateTestProbe("writer");
    }

    private IActorRef Pipeline(int maxConcurrency = 4, int maxQueued = 10, TimeSpan? deltaInterval = null, int timeoutSeconds = 5,
        int breakerFailures = 100)
    {
        var ai = new AiSettings { Model = "test-model", TimeoutSeconds = timeoutSeconds };
        return Sys.ActorOf(AiPipelineActor.Props(
            new AiPipelineSettings(maxConcurrency, maxQueued, "prompt", Vision: false, deltaInterval ?? TimeSpan.Zero),
            _store, new AiClient(ai, new FixedAiEndpoint(_ai.Url)), new AiCircuitBreaker(breakerFailures, TimeSpan.FromSeconds(30), _clock),
            _metrics));
    }

    /// <summary>A patient's message in the store, and the attempt its record asks for (the message alone as context).</summary>
    private async Task<AiPipeline.Call> Asked(string content)
    {
        var appended = await _store.Append(new NewMessage(_groupId, "patient", MessageTypes.Text, content, ["patient"], null,
            new AiRecordChange.Open(_ai.Url, "node-1", "test-model", 1, AiModes.Auto)));
        var record = appended.Value!.OpenedRecord!;
        return new AiPipeline.Call(_groupId, record.RecordId, 1, record.UserMessageId, record.ContextFromSeq, record.ContextToSeq, ["patient"]);
    }

    private static string Unique(string marker = "") => $"q-{Guid.NewGuid():N} {marker}".TrimEnd();

    private int RequestsFor(string content) => _ai.Requests.Count(r => r.ToJsonString().Contains(content.Split(' ')[0], StringComparison.Ordinal));

    private Task<ChannelMessageQueue> Events() => _server.Redis.GetSubscriber().SubscribeAsync(_store.Keys.GroupEvents(_groupId));

    /// <summary>
    /// The next frame the pipeline published about <paramref name="recordId"/> (or the spec's marker), within
    /// the wait; the append's own <c>thinking</c> is not the pipeline's.
    /// </summary>
    private static async Task<JsonElement> NextFrame(ChannelMessageQueue events, string recordId, TimeSpan? within = null)
    {
        using var timeout = new CancellationTokenSource(within ?? Wait);
        while (true)
        {
            var message = await events.ReadAsync(timeout.Token);
            var frame = Pushed.Read(message).Frame;
            if (frame.TryGetProperty("record_id", out var id) && id.GetString() == recordId
                && !(frame.TryGetProperty("state", out var state) && state.GetString() == AiStates.Thinking))
                return frame;
        }
    }

    private async Task<AiAnswered> AnsweredFor(AiPipeline.Call call) =>
        await _writer.FishForMessageAsync<AiAnswered>(a => a.RecordId == call.RecordId, Wait);

    [Fact]
    public async Task Should_publish_generating_then_deltas_that_concatenate_to_the_answer_then_answer_the_writer()
    {
        var pipeline = Pipeline();
        var events = await Events();
        var question = Unique();
        var call = await Asked(question);

        pipeline.Tell(call, _writer.Ref);

        var answered = await AnsweredFor(call);
        var answer = Assert.IsType<AiCallResult.Answered>(answered.Result);
        Assert.Equal(("AI: " + question, 1), (answer.Content, answered.Attempt));
        var generating = await NextFrame(events, call.RecordId);
        Assert.Equal((FrameTypes.AiState, AiStates.Generating, call.UserMessageId, _groupId),
            (generating.GetProperty("type").GetString(), generating.GetProperty("state").GetString(),
                generating.GetProperty("user_message_id").GetString(), generating.GetProperty("group_id").GetString()));
        var deltas = new List<JsonElement>();
        while (string.Concat(deltas.Select(d => d.GetProperty("text").GetString())).Length < answer.Content.Length)
            deltas.Add(await NextFrame(events, call.RecordId));
        Assert.All(deltas, d => Assert.Equal(FrameTypes.AiDelta, d.GetProperty("type").GetString()));
        Assert.Equal(Enumerable.Range(0, deltas.Count), deltas.Select(d => d.GetProperty("index").GetInt32()));
        Assert.Equal(answer.Content, string.Concat(deltas.Select(d => d.GetProperty("text").GetString())));
        // Every piece went out on its own here (no interval): the stand-in streamed several.
        Assert.True(deltas.Count > 1, $"{deltas.Count} delta(s)");
        await events.UnsubscribeAsync();
    }

    [Fact]
    public async Task Should_gather_pieces_so_that_at_most_one_delta_goes_out_per_interval()
    {
        // Seven pieces ten milliseconds apart, and a second between deltas: the first piece, then the rest at the end.
        var pipeline = Pipeline(deltaInterval: TimeSpan.FromSeconds(1));
        var events = await Events();
        var call = await Asked(Unique());

        pipeline.Tell(call, _writer.Ref);

        var answer = Assert.IsType<AiCallResult.Answered>((await AnsweredFor(call)).Result);
        Assert.Equal(AiStates.Generating, (await NextFrame(events, call.RecordId)).GetProperty("state").GetString());
        var first = await NextFrame(events, call.RecordId);
        var rest = await NextFrame(events, call.RecordId);
        Assert.Equal(StandInAiServer.PieceLength, first.GetProperty("text").GetString()!.Length);
        Assert.Equal(answer.Content, first.GetProperty("text").GetString() + rest.GetProperty("text").GetString());
        Assert.Equal(1, rest.GetProperty("index").GetInt32());
        await events.UnsubscribeAsync();
    }

    [Fact]
    public async Task Should_send_what_it_gathered_within_the_interval_when_the_model_pauses()
    {
        // Three pieces ten milliseconds apart, then the model stops for a second and a half.
        var pipeline = Pipeline(deltaInterval: TimeSpan.FromMilliseconds(100));
        var events = await Events();
        var call = await Asked(Unique("#pause"));

        pipeline.Tell(call, _writer.Ref);

        Assert.Equal(AiStates.Generating, (await NextFrame(events, call.RecordId)).GetProperty("state").GetString());
        var first = await NextFrame(events, call.RecordId);
        // The second and third pieces may not wait for the model to go on: they are out within the interval.
        var gathered = await NextFrame(events, call.RecordId, within: StandInAiServer.PauseDelay * 2 / 3);
        Assert.Equal((0, 1), (first.GetProperty("index").GetInt32(), gathered.GetProperty("index").GetInt32()));
        Assert.Equal(2 * StandInAiServer.PieceLength, gathered.GetProperty("text").GetString()!.Length);
        var answer = Assert.IsType<AiCallResult.Answered>((await AnsweredFor(call)).Result);
        var texts = new List<string> { first.GetProperty("text").GetString()!, gathered.GetProperty("text").GetString()! };
        while (string.Concat(texts).Length < answer.Content.Length) texts.Add((await NextFrame(events, call.RecordId)).GetProperty("text").GetString()!);
        Assert.Equal(answer.Content, string.Concat(texts));
        await events.UnsubscribeAsync();
    }

    [Fact]
    public async Task Should_send_the_records_context_range_from_the_store()
    {
        var pipeline = Pipeline();
        var marker = Unique();
        for (var i = 1; i <= 4; i++)
            await _store.Append(new NewMessage(_groupId, "doctor", MessageTypes.Text, $"{marker} m{i}", ["patient"], null, AiRecordChange.None));
        var question = await Asked(marker + " question");
        var call = question with { ContextFromSeq = question.ContextToSeq - 2 };

        pipeline.Tell(call, _writer.Ref);

        await AnsweredFor(call);
        var request = _ai.Requests.Last(r => r.ToJsonString().Contains(marker + " question", StringComparison.Ordinal));
        Assert.Equal(["prompt", $"{marker} m3", $"{marker} m4", $"{marker} question"],
            request["messages"]!.AsArray().Select(m => (string?)m!["content"]));
    }

    [Fact]
    public async Task Should_give_a_plain_json_answer_as_one_delta()
    {
        var pipeline = Pipeline();
        var events = await Events();
        var call = await Asked(Unique("#plain"));

        pipeline.Tell(call, _writer.Ref);

        var answer = Assert.IsType<AiCallResult.Answered>((await AnsweredFor(call)).Result);
        Assert.Equal(AiStates.Generating, (await NextFrame(events, call.RecordId)).GetProperty("state").GetString());
        var delta = await NextFrame(events, call.RecordId);
        Assert.Equal((0, answer.Content), (delta.GetProperty("index").GetInt32(), delta.GetProperty("text").GetString()));
        await events.UnsubscribeAsync();
    }

    [Fact]
    public async Task Should_answer_4001_for_a_stream_that_breaks_off_and_4002_for_one_that_hangs()
    {
        var pipeline = Pipeline(timeoutSeconds: 1);
        var broken = await Asked(Unique("#break"));
        var hanging = await Asked(Unique("#hang"));

        pipeline.Tell(broken, _writer.Ref);
        pipeline.Tell(hanging, _writer.Ref);

        Assert.Equal(ErrorCodes.AiCallFailed, Assert.IsType<AiCallResult.Failed>((await AnsweredFor(broken)).Result).Code);
        Assert.Equal(ErrorCodes.AiTimeout, Assert.IsType<AiCallResult.Failed>((await AnsweredFor(hanging)).Result).Code);
        Assert.Equal((1L, 1L), (_metrics.AiCalls(ErrorCodes.AiCallFailed), _metrics.AiCalls(ErrorCodes.AiTimeout)));
    }

    [Fact]
    public async Task Should_cancel_a_stopped_call_and_publish_nothing_of_it_after_confirming()
    {
        var pipeline = Pipeline();
        var events = await Events();
        var abandoned = _ai.Abandoned;
        var call = await Asked(Unique("#trickle"));
        pipeline.Tell(call, _writer.Ref);
        Assert.Equal(AiStates.Generating, (await NextFrame(events, call.RecordId)).GetProperty("state").GetString());
        Assert.Equal(0, (await NextFrame(events, call.RecordId)).GetProperty("index").GetInt32());

        pipeline.Tell(new AiPipeline.Stop(call.RecordId, 1), _writer.Ref);

        await _writer.ExpectMsgAsync(new AiPipeline.Stopped(call.RecordId, 1), Wait);
        // Published after the confirmation: every frame of the call published before it arrives before this one.
        await _store.Publish(new AiStateChanged(_groupId, ["patient"], call.RecordId, "marker", "marker"));
        while ((await NextFrame(events, call.RecordId)).GetProperty("type").GetString() != FrameTypes.AiState)
        {
        }
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => NextFrame(events, call.RecordId, StandInAiServer.TrickleDelay * 3));
        await _writer.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
        await Eventually.True(() => _ai.Abandoned > abandoned, Wait, "the AI service to see its connection closed");
        Assert.Equal(1, _metrics.AiCalls(ImMetrics.Stopped));
        await events.UnsubscribeAsync();
    }

    [Fact]
    public async Task Should_bound_calls_in_flight_and_waiting_and_fail_the_overflow_at_once()
    {
        var pipeline = Pipeline(maxConcurrency: 2, maxQueued: 1);
        var questions = Enumerable.Range(0, 4).Select(_ => Unique("#hang")).ToList();
        var calls = new List<AiPipeline.Call>();
        foreach (var question in questions) calls.Add(await Asked(question));

        foreach (var call in calls) pipeline.Tell(call, _writer.Ref);

        var overflow = await AnsweredFor(calls[3]);
        Assert.Equal(AiPipelineActor.QueueFull, Assert.IsType<AiCallResult.Failed>(overflow.Result).ErrorMessage);
        await Eventually.True(() => _metrics.AiCallsInFlight == 2 && _metrics.AiQueueLength == 1 && questions.Take(2).All(q => RequestsFor(q) == 1),
            Wait, "two calls running and one waiting");
        Assert.Equal([1, 1, 0, 0], questions.Select(RequestsFor));

        // The first ends: the waiting one runs.
        pipeline.Tell(new AiPipeline.Stop(calls[0].RecordId, 1), _writer.Ref);
        await Eventually.True(() => RequestsFor(questions[2]) == 1, Wait, "the waiting call to start");
        Assert.Equal((2L, 0L), (_metrics.AiCallsInFlight, _metrics.AiQueueLength));
        foreach (var call in calls.Skip(1).Take(2)) pipeline.Tell(new AiPipeline.Stop(call.RecordId, 1), _writer.Ref);
        await Eventually.True(() => _metrics.AiCallsInFlight == 0, Wait, "every call to end");
        Assert.Equal(0, RequestsFor(questions[3]));
    }

    [Fact]
    public async Task Should_run_a_stopped_queued_attempt_never()
    {
        var pipeline = Pipeline(maxConcurrency: 1);
        var running = await Asked(Unique("#hang"));
        var waitingQuestion = Unique();
        var waiting = await Asked(waitingQuestion);
        pipeline.Tell(running, _writer.Ref);
        pipeline.Tell(waiting, _writer.Ref);

        pipeline.Tell(new AiPipeline.Stop(waiting.RecordId, 1), _writer.Ref);
        await _writer.ExpectMsgAsync(new AiPipeline.Stopped(waiting.RecordId, 1), Wait);
        pipeline.Tell(new AiPipeline.Stop(running.RecordId, 1), _writer.Ref);
        await _writer.ExpectMsgAsync(new AiPipeline.Stopped(running.RecordId, 1), Wait);

        await Eventually.True(() => _metrics.AiCallsInFlight == 0 && _metrics.AiQueueLength == 0, Wait, "the pipeline to be idle");
        var unexpected = await _writer.ReceiveWhileAsync<object>(TimeSpan.FromMilliseconds(300), m => m).ToListAsync();
        Assert.True(unexpected.Count == 0, string.Join(", ", unexpected.Select(m => m is AiAnswered { Result: AiCallResult.Failed f } ? f.ErrorMessage : m.ToString())));
        Assert.Equal(0, RequestsFor(waitingQuestion));
    }

    [Fact]
    public async Task Should_fail_calls_at_once_while_the_circuit_is_open_and_close_it_after_a_good_probe()
    {
        var pipeline = Pipeline(breakerFailures: 2);
        foreach (var failing in new[] { await Asked(Unique("#http500")), await Asked(Unique("#http500")) })
        {
            pipeline.Tell(failing, _writer.Ref);
            await AnsweredFor(failing);
        }
        await Eventually.True(() => _metrics.AiBreakerState == 2, Wait, "the breaker to open");

        var refused = Unique();
        var refusedCall = await Asked(refused);
        pipeline.Tell(refusedCall, _writer.Ref);
        Assert.Equal(AiPipelineActor.CircuitOpen, Assert.IsType<AiCallResult.Failed>((await AnsweredFor(refusedCall)).Result).ErrorMessage);
        Assert.Equal(0, RequestsFor(refused));
        Assert.Equal(1, _metrics.AiCalls(ImMetrics.CircuitOpen));

        // After the reset time one probe goes through; a call beside it is still refused.
        _clock.Advance(TimeSpan.FromSeconds(30));
        var probe = await Asked(Unique("#trickle"));
        var beside = await Asked(Unique());
        pipeline.Tell(probe, _writer.Ref);
        await Eventually.True(() => _metrics.AiBreakerState == 1 && _metrics.AiCallsInFlight == 1, Wait, "the probe to run");
        pipeline.Tell(beside, _writer.Ref);
        Assert.Equal(AiPipelineActor.CircuitOpen, Assert.IsType<AiCallResult.Failed>((await AnsweredFor(beside)).Result).ErrorMessage);
        Assert.IsType<AiCallResult.Answered>((await AnsweredFor(probe)).Result);
        await Eventually.True(() => _metrics.AiBreakerState == 0, Wait, "the breaker to close");

        var after = await Asked(Unique());
        pipeline.Tell(after, _writer.Ref);
        Assert.IsType<AiCallResult.Answered>((await AnsweredFor(after)).Result);
    }

    [Fact]
    public async Task Should_tell_the_writers_of_calls_in_flight_that_they_were_interrupted_when_it_stops()
    {
        var pipeline = Pipeline();
        var call = await Asked(Unique("#hang"));
        pipeline.Tell(call, _writer.Ref);
        await Eventually.True(() => _metrics.AiCallsInFlight == 1, Wait, "the call to run");

        Sys.Stop(pipeline);

        var answered = await AnsweredFor(call);
        Assert.Equal("4001: interrupted", Assert.IsType<AiCallResult.Failed>(answered.Result).ErrorMessage);
    }
}
