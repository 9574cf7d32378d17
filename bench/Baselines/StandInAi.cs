using System.Text.Json;

namespace ImAkka.Baselines;

/// <summary>
/// An OpenAI-compatible chat-completions stand-in that takes 1–2 s per answer, as a real model
/// does, so a thousand calls are in flight at once. Asked for a streamed answer (ImAkka's
/// <c>Ai__Stream</c>, on by default) it writes the answer as server-sent events in
/// <see cref="Pieces"/> pieces spread over that time, so the run pays for the <c>ai_delta</c>
/// frames a real model's stream causes. It counts what it serves and the most calls it held at one
/// time, which is what the AI phase reports as "calls running at once".
/// </summary>
public static class StandInAi
{
    private static long _inFlight;
    private static long _maxInFlight;
    private static long _served;

    /// <summary>About what a short answer of a real model arrives in, at ImAkka's 100 ms gathering.</summary>
    public const int Pieces = 10;

    public static WebApplication Build(WebApplicationBuilder builder)
    {
        var app = builder.Build();
        app.MapPost("/v1/chat/completions", Answer);
        app.MapGet("/stats", () => Results.Json(new { in_flight = Interlocked.Read(ref _inFlight), max_in_flight = Interlocked.Read(ref _maxInFlight), served = Interlocked.Read(ref _served), pieces = Pieces }));
        app.MapPost("/stats/reset", () =>
        {
            Interlocked.Exchange(ref _maxInFlight, Interlocked.Read(ref _inFlight));
            return Results.Ok();
        });
        return app;
    }

    private static async Task Answer(HttpContext context)
    {
        var now = Interlocked.Increment(ref _inFlight);
        long max;
        while (now > (max = Interlocked.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, max) != max)
        {
        }
        try
        {
            using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            var answerTime = TimeSpan.FromMilliseconds(1000 + Random.Shared.Next(1000));
            var streamed = body.RootElement.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True;
            if (streamed) await Stream(context, answerTime);
            else
            {
                await Task.Delay(answerTime, context.RequestAborted);
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("""{"choices":[{"index":0,"message":{"role":"assistant","content":"stand-in answer"}}]}""",
                    context.RequestAborted);
            }
            Interlocked.Increment(ref _served);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private static async Task Stream(HttpContext context, TimeSpan answerTime)
    {
        context.Response.ContentType = "text/event-stream";
        var pause = answerTime / Pieces;
        for (var piece = 0; piece < Pieces; piece++)
        {
            await Task.Delay(pause, context.RequestAborted);
            var chunk = JsonSerializer.Serialize(new { choices = new[] { new { index = 0, delta = new { content = $"piece {piece} " } } } });
            await context.Response.WriteAsync($"data: {chunk}\n\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }
        await context.Response.WriteAsync("data: [DONE]\n\n", context.RequestAborted);
    }
}
