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
/// What it does is chosen by a marker in the last message, so one host serves every case:
/// <c>#http500</c>, <c>#slow</c> (answers after <see cref="SlowDelay"/>), <c>#malformed</c>
/// (not JSON), <c>#nochoices</c>, <c>#long</c> (6000 characters); anything else gets
/// <c>"AI: " + the message</c>.
/// </summary>
public sealed class StandInAiServer : IAsyncDisposable
{
    public static readonly TimeSpan SlowDelay = TimeSpan.FromSeconds(8);

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

    private async Task Answer(HttpContext context)
    {
        var body = (await JsonNode.ParseAsync(context.Request.Body))!;
        Requests.Enqueue(body);
        var question = body["messages"]!.AsArray().Last()!["content"]!;
        // A patient's image comes as parts (OpenAI's vision format); the markers are read from text parts.
        var last = question is JsonArray parts
            ? string.Join(' ', parts.Select(part => (string?)part!["text"] ?? "[image part]"))
            : question.GetValue<string>();
        if (question is JsonArray && RefuseImages)
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
        if (last.Contains("#slow", StringComparison.Ordinal))
        {
            try
            {
                await Task.Delay(SlowDelay, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
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
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            choices = new[] { new { index = 0, message = new { role = "assistant", content } } },
        }));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
