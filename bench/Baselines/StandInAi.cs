using System.Text.Json;

namespace ImAkka.Baselines;

/// <summary>
/// An OpenAI-compatible chat-completions stand-in that takes 1–2 s per answer, as a real model
/// does, so a thousand calls are in flight at once. It counts what it serves and the most calls it
/// held at one time, which is what the AI phase reports as "calls running at once".
/// </summary>
public static class StandInAi
{
    private static long _inFlight;
    private static long _maxInFlight;
    private static long _served;

    public static WebApplication Build(WebApplicationBuilder builder)
    {
        var app = builder.Build();
        app.MapPost("/v1/chat/completions", Answer);
        app.MapGet("/stats", () => Results.Json(new { in_flight = Interlocked.Read(ref _inFlight), max_in_flight = Interlocked.Read(ref _maxInFlight), served = Interlocked.Read(ref _served) }));
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
            await Task.Delay(TimeSpan.FromMilliseconds(1000 + Random.Shared.Next(1000)), context.RequestAborted);
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"choices":[{"index":0,"message":{"role":"assistant","content":"stand-in answer"}}]}""",
                context.RequestAborted);
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
}
