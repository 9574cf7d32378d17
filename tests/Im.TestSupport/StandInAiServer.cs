using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Im.TestSupport;

/// <summary>
/// The external AI service, replaced: a real HTTP server speaking the chat-completions protocol.
/// A request with <c>"stream":true</c> is answered as OpenAI streams (server-sent events, pieces of
/// <see cref="PieceLength"/> characters <see cref="PieceDelay"/> apart, then <c>[DONE]</c>); otherwise
/// with one JSON body. What it does is chosen by a marker in the last message, so one host serves
/// every case: <c>#http500</c>, <c>#slow</c> (answers after <see cref="SlowDelay"/>), <c>#malformed</c>
/// (not JSON), <c>#nochoices</c>, <c>#long</c> (6000 characters), <c>#plain</c> (one JSON body even
/// when asked to stream), <c>#trickle</c> (pieces <see cref="TrickleDelay"/> apart), <c>#break</c>
/// (the stream stops after two pieces without <c>[DONE]</c>), <c>#pause</c> (three pieces, a pause of <see cref="PauseDelay"/>, the rest), <c>#hang</c> (one piece, then nothing
/// until the caller gives up); anything else gets <c>"AI: " + the message</c>.
/// </summary>
public sealed class StandInAiServer : IAsyncDisposable
{
    public static readonly TimeSpan SlowDelay = TimeSpan.FromSeconds(8);
    public static readonly TimeSpan TrickleDelay = TimeSpan.FromMilliseconds(250);

    /// <summary><c>#pause</c>: the model stops this long after its third piece, then goes on.</summary>
    public static readonly TimeSpan PauseDelay = TimeSpan.FromMilliseconds(1500);
    public const int PieceLength = 3;
    public const int MaxPieces = 20;

    private int _abandoned;

    private readonly WebApplication _app;

    private StandInAiServer(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    public string Url { get; }

    /// <summary>Every request body received, in arrival order.</summary>
    public ConcurrentQueue<JsonNode> Requests { get; } = new();

    /// <summary>Answer a request holding an image with 400, as a text-only model does.</summary>
    public bool RefuseImages { get; set; }

    /// <summary>The pause between streamed pieces of an ordinary answer.</summary>
    public TimeSpan PieceDelay { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Requests whose caller closed the connection before the answer was complete: a stop, a timeout.</summary>
    public int Abandoned => Volatile.Read(ref _abandoned);

    public static async Task<StandInAiServer> Start()
    {
        var port = Ports.FreeLoopbackPort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new StandInAiServer(app, $"http://127.0.0.1:{port}/v1/chat/completions");
        app.MapPost("/v1/chat/completions", server.Answer);
        await app.StartAsync();
        return server;
    }

    /// <summary>
    /// The text of a request's last message. A patient's image comes as parts (OpenAI's vision
    /// format): then its text parts, an image part read as <c>[image part]</c>.
    /// </summary>
    public static string LastText(JsonNode request) => request["messages"]!.AsArray().Last()!["content"] switch
    {
        JsonArray parts => string.Join(' ', parts.Select(part => (string?)part!["text"] ?? "[image part]")),
        { } text => text.GetValue<string>(),
        null => "",
    };

    private async Task Answer(HttpContext context)
    {
        var body = (await JsonNode.ParseAsync(context.Request.Body))!;
        Requests.Enqueue(body);
        var last = LastText(body);
        if (body["messages"]!.AsArray().Last()!["content"] is JsonArray && RefuseImages)
        {
            context.Response.StatusCode = 400;
            await context.Response.WriteAsJsonAsync(new { error = new { message = "this model does not accept images" } });
            return;
        }
        if (last.Contains("#http500", StringComparison.Ordinal))
        {
            context.Response.StatusCode = 500;
            await context.Response.WriteAsync("boom");
            return;
        }
        if (last.Contains("#slow", StringComparison.Ordinal) && !await Pause(SlowDelay, context)) return;
        if (last.Contains("#malformed", StringComparison.Ordinal))
        {
            await context.Response.WriteAsync("this is not json");
            return;
        }
        if (last.Contains("#nochoices", StringComparison.Ordinal))
        {
            await context.Response.WriteAsJsonAsync(new { choices = Array.Empty<object>() });
            return;
        }
        var content = last.Contains("#long", StringComparison.Ordinal) ? new string('长', 6000) : "AI: " + last;
        if (body["stream"]?.GetValue<bool>() == true && !last.Contains("#plain", StringComparison.Ordinal))
        {
            await Stream(context, content, last);
            return;
        }
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            choices = new[] { new { index = 0, message = new { role = "assistant", content } } },
        }));
    }

    private async Task Stream(HttpContext context, string content, string question)
    {
        context.Response.ContentType = "text/event-stream";
        var delay = question.Contains("#trickle", StringComparison.Ordinal) ? TrickleDelay : PieceDelay;
        var length = Math.Max(PieceLength, (content.Length + MaxPieces - 1) / MaxPieces);
        var pieces = Enumerable.Range(0, (content.Length + length - 1) / length)
            .Select(i => content.Substring(i * length, Math.Min(length, content.Length - i * length))).ToList();
        var breaks = question.Contains("#break", StringComparison.Ordinal);
        var hangs = question.Contains("#hang", StringComparison.Ordinal);
        var pauses = question.Contains("#pause", StringComparison.Ordinal);
        try
        {
            for (var i = 0; i < pieces.Count; i++)
            {
                if (breaks && i == 2) return;
                var chunk = JsonSerializer.Serialize(new
                {
                    @object = "chat.completion.chunk",
                    choices = new[] { new { index = 0, delta = new { content = pieces[i] } } },
                });
                await context.Response.WriteAsync($"data: {chunk}\n\n", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                if (hangs && !await Pause(Timeout.InfiniteTimeSpan, context)) return;
                if (pauses && i == 2 && !await Pause(PauseDelay, context)) return;
                if (!await Pause(delay, context)) return;
            }
            await context.Response.WriteAsync("data: [DONE]\n\n", context.RequestAborted);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            Interlocked.Increment(ref _abandoned);
        }
    }

    /// <summary>Waits; false (and counted) if the caller closed the connection meanwhile.</summary>
    private async Task<bool> Pause(TimeSpan delay, HttpContext context)
    {
        try
        {
            await Task.Delay(delay, context.RequestAborted);
            return true;
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref _abandoned);
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
