using System.Diagnostics;
using System.Text.Json.Nodes;
using Im.Actors.Ai;
using Im.Actors.Tests.Support;
using Im.Contracts;
using Im.TestSupport;

namespace Im.Actors.Tests;

/// <summary>The stand-in AI server for a test class.</summary>
public sealed class AiServerFixture : IAsyncLifetime
{
    public StandInAiServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await StandInAiServer.Start();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>The AI client against a real HTTP server that answers the way the last message asks it to.</summary>
public sealed class AiClientSpecs(AiServerFixture fixture) : IClassFixture<AiServerFixture>
{
    private const string Prompt = "You are a test assistant.";

    private AiClient Client(int timeoutSeconds = 10, string? url = null, bool stream = true) =>
        new(new AiSettings { Model = "test-model", TimeoutSeconds = timeoutSeconds, SystemPrompt = Prompt, Stream = stream },
            new FixedAiEndpoint(url ?? fixture.Server.Url));

    private static IReadOnlyList<ChatMessage> Ask(string question) =>
        [new ChatMessage("system", Prompt), new ChatMessage("user", question)];

    private static AiCallResult.Failed Failed(string code, AiCallResult result)
    {
        var failed = Assert.IsType<AiCallResult.Failed>(result);
        Assert.Equal(code, failed.Code);
        Assert.StartsWith(code + ": ", failed.ErrorMessage, StringComparison.Ordinal);
        return failed;
    }

    [Fact]
    public async Task Should_return_the_answer()
    {
        var result = await Client().Complete(Ask("我头疼怎么办"));

        var answered = Assert.IsType<AiCallResult.Answered>(result);
        Assert.Equal("AI: 我头疼怎么办", answered.Content);
        Assert.True(answered.DurationMs >= 0);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Should_send_the_model_the_stream_setting_and_the_messages_in_order(bool stream)
    {
        var marker = Guid.NewGuid().ToString("N");
        var context = new[]
        {
            new MessageResponse(1, "msg_1", "g", "patient", MessageTypes.Text, "first " + marker, 1, "t", "t"),
            new MessageResponse(2, "msg_2", "g", "ai_assistant_001", MessageTypes.AiReply, "reply", 2, "t", "t"),
            new MessageResponse(3, "msg_3", "g", "doctor", MessageTypes.Text, "last", 3, "t", "t"),
        };

        Assert.IsType<AiCallResult.Answered>(await Client(stream: stream).Complete(AiClient.BuildMessages(Prompt, context)));

        var body = fixture.Server.Requests.Single(r => r.ToJsonString().Contains(marker, StringComparison.Ordinal));
        Assert.Equal("test-model", (string?)body["model"]);
        Assert.Equal(stream, (bool)body["stream"]!);
        var messages = body["messages"]!.AsArray().Select(m => ((string?)m!["role"], (string?)m["content"])).ToList();
        Assert.Equal([("system", Prompt), ("user", "first " + marker), ("assistant", "reply"), ("user", "last")], messages);
    }

    // ---- streamed answers ----

    private static (Func<string, Task> OnText, List<string> Pieces) Collector()
    {
        var pieces = new List<string>();
        return (text =>
        {
            pieces.Add(text);
            return Task.CompletedTask;
        }, pieces);
    }

    [Fact]
    public async Task Should_hand_on_each_streamed_piece_as_it_comes_and_answer_their_concatenation()
    {
        var (onText, pieces) = Collector();

        var answered = Assert.IsType<AiCallResult.Answered>(await Client().Complete(Ask("一个需要流式回答的问题"), onText));

        Assert.Equal("AI: 一个需要流式回答的问题", answered.Content);
        Assert.True(pieces.Count > 1, $"{pieces.Count} piece(s)");
        Assert.Equal(answered.Content, string.Concat(pieces));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Should_hand_on_a_plain_json_answer_as_one_piece(bool askedToStream)
    {
        var (onText, pieces) = Collector();

        var answered = Assert.IsType<AiCallResult.Answered>(await Client(stream: askedToStream).Complete(Ask("plain please #plain"), onText));

        Assert.Equal([answered.Content], pieces);
    }

    [Fact]
    public async Task Should_fail_with_4001_when_the_stream_breaks_off_before_done()
    {
        var (onText, pieces) = Collector();

        var failed = Failed(ErrorCodes.AiCallFailed, await Client().Complete(Ask("cut me off #break"), onText));

        Assert.Equal("4001: the stream ended before [DONE]", failed.ErrorMessage);
        Assert.Equal(2, pieces.Count);
    }

    [Fact]
    public async Task Should_fail_with_4002_when_a_stream_hangs_past_the_deadline()
    {
        var abandoned = fixture.Server.Abandoned;

        Failed(ErrorCodes.AiTimeout, await Client(timeoutSeconds: 1).Complete(Ask("then nothing #hang")));

        await Eventually.True(() => fixture.Server.Abandoned > abandoned, TimeSpan.FromSeconds(5), "the service to see its connection closed");
    }

    [Fact]
    public async Task Should_throw_and_close_the_connection_when_cancelled_mid_stream()
    {
        var abandoned = fixture.Server.Abandoned;
        using var cancellation = new CancellationTokenSource();
        var pieces = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Client().Complete(Ask("slowly please #trickle"), _ =>
        {
            if (++pieces == 1) cancellation.Cancel();
            return Task.CompletedTask;
        }, cancellation.Token));

        Assert.Equal(1, pieces);
        await Eventually.True(() => fixture.Server.Abandoned > abandoned, TimeSpan.FromSeconds(5), "the service to see its connection closed");
    }

    [Fact]
    public void Should_build_messages_with_the_system_prompt_first()
    {
        var messages = AiClient.BuildMessages("prompt", [
            new MessageResponse(1, "m1", "g", "ai", MessageTypes.AiReply, "a", 1, "t", "t"),
            new MessageResponse(2, "m2", "g", "p", MessageTypes.Image, "i", 2, "t", "t"),
        ]);

        // An image the model is not shown reads as a placeholder, never as its media id.
        Assert.Equal([new ChatMessage("system", "prompt"), new ChatMessage("assistant", "a"), new ChatMessage("user", AiClient.ImagePlaceholder)], messages);
    }

    [Fact]
    public void Should_show_the_patients_image_as_a_vision_part_and_earlier_images_as_placeholders()
    {
        var earlier = new MessageResponse(1, "m1", "g", "p", MessageTypes.Image, "media_1", 1, "t", "t");
        var now = new MessageResponse(2, "m2", "g", "p", MessageTypes.Image, "media_2", 2, "t", "t");

        var messages = AiClient.BuildMessages("prompt", [earlier, now], new VisionImage("m2", "image/png", [1, 2, 3]));

        Assert.Equal(AiClient.ImagePlaceholder, messages[1].Content);
        Assert.Equal("""[{"image_url":{"url":"data:image/png;base64,AQID"},"type":"image_url"}]""",
            System.Text.Json.JsonSerializer.Serialize(messages[2].Content, ImJson.Options));
    }

    [Fact]
    public async Task Should_send_the_patients_image_to_the_service_as_an_image_url_part_holding_its_bytes()
    {
        var marker = Guid.NewGuid().ToString("N");
        var bytes = TestImages.Png();
        static MediaInfo Media(string id, int size) => new(id, MediaTypes.Png, size, TestImages.Width, TestImages.Height, MediaInfo.UrlOf(id));
        var context = new[]
        {
            new MessageResponse(1, "msg_1", "g", "patient", MessageTypes.Image, "media_1", 1, "t", "t", Media("media_1", 10)),
            new MessageResponse(2, "msg_2", "g", "patient", MessageTypes.Text, "what is this? " + marker, 2, "t", "t"),
            new MessageResponse(3, "msg_3", "g", "patient", MessageTypes.Image, "media_3", 3, "t", "t", Media("media_3", bytes.Length)),
        };

        var result = await Client().Complete(AiClient.BuildMessages(Prompt, context, new VisionImage("msg_3", MediaTypes.Png, bytes)));

        Assert.IsType<AiCallResult.Answered>(result);
        var body = fixture.Server.Requests.Single(r => r.ToJsonString().Contains(marker, StringComparison.Ordinal));
        var messages = body["messages"]!.AsArray();
        Assert.Equal(["system", "user", "user", "user"], messages.Select(m => (string?)m!["role"]));
        Assert.Equal(AiClient.ImagePlaceholder, (string?)messages[1]!["content"]);
        var part = Assert.Single(messages[3]!["content"]!.AsArray())!;
        Assert.Equal("image_url", (string?)part["type"]);
        var url = (string?)part["image_url"]?["url"];
        Assert.Equal("data:image/png;base64," + Convert.ToBase64String(bytes), url);
        Assert.Equal(bytes, Convert.FromBase64String(url!["data:image/png;base64,".Length..]));
    }

    [Fact]
    public async Task Should_fail_with_4001_on_http_error()
    {
        var failed = Failed(ErrorCodes.AiCallFailed, await Client().Complete(Ask("private symptoms #http500")));

        Assert.DoesNotContain("private symptoms", failed.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_fail_with_4002_when_no_answer_in_time()
    {
        var watch = Stopwatch.StartNew();

        var failed = Failed(ErrorCodes.AiTimeout, await Client(timeoutSeconds: 1).Complete(Ask("wait #slow")));

        Assert.True(watch.Elapsed < StandInAiServer.SlowDelay / 2, $"took {watch.Elapsed}");
        Assert.InRange(failed.DurationMs, 900, 5_000);
    }

    [Theory]
    [InlineData("#malformed")]
    [InlineData("#nochoices")]
    public async Task Should_fail_with_4003_on_a_bad_answer(string marker) =>
        Failed(ErrorCodes.AiBadResponse, await Client().Complete(Ask("question " + marker)));

    [Fact]
    public async Task Should_cut_a_long_answer_to_5000_characters()
    {
        var answered = Assert.IsType<AiCallResult.Answered>(await Client().Complete(Ask("tell me everything #long")));

        Assert.Equal(new string('长', Limits.ContentMax), answered.Content);
    }

    [Fact]
    public async Task Should_fail_with_4001_when_unreachable()
    {
        var url = $"http://127.0.0.1:{Ports.FreeLoopbackPort()}/v1/chat/completions";

        Failed(ErrorCodes.AiCallFailed, await Client(url: url).Complete(Ask("anyone there?")));
    }
}
