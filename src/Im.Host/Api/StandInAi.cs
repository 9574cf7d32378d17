using System.Globalization;
using System.Text.Json;
using Im.Actors.Ai;
using Im.Contracts;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Im.Host.Api;

/// <summary>
/// The built-in AI stand-in: an OpenAI-compatible chat-completions endpoint that answers
/// deterministically, so a fresh clone gets AI replies with no AI service at hand. It is called
/// over HTTP like a real service; only loopback callers are served. Asked to stream, it sends the
/// answer as OpenAI does, a few characters every <c>Ai__StandInChunkDelayMs</c>, so a fresh clone
/// shows a reply being written.
/// </summary>
public static class StandInAi
{
    public const string Path = "/dev/ai/v1/chat/completions";

    // Not part of the service's contract: a stand-in for an external AI service, so left out of the OpenAPI document.
    public static void MapStandInAi(this IEndpointRouteBuilder app) => app.MapPost(Path, Answer).ExcludeFromDescription();

    /// <summary>The content type and size of the first inline image among a message's parts (<c>data:…;base64,…</c>).</summary>
    private static (string ContentType, long Bytes)? ImageIn(JsonElement parts)
    {
        foreach (var part in parts.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("image_url", out var image)
                || image.ValueKind != JsonValueKind.Object || !image.TryGetProperty("url", out var url) || url.ValueKind != JsonValueKind.String)
                continue;
            var text = url.GetString() ?? "";
            var comma = text.IndexOf(',', StringComparison.Ordinal);
            if (!text.StartsWith("data:", StringComparison.Ordinal) || comma < 0 || !text[..comma].EndsWith(";base64", StringComparison.Ordinal))
                continue;
            var data = text.AsSpan(comma + 1);
            var padding = data.EndsWith("==") ? 2 : data.EndsWith("=") ? 1 : 0;
            return (text[5..(comma - ";base64".Length)], data.Length / 4L * 3 - padding);
        }
        return null;
    }

    /// <summary>Characters per streamed piece: about a word of the stand-in's Chinese answer.</summary>
    private const int PieceLength = 4;

    private static async Task<IResult> Answer(HttpContext context, AiSettings settings, CancellationToken cancellation)
    {
        if (context.Connection.RemoteIpAddress is not { } remote || !System.Net.IPAddress.IsLoopback(remote))
            return ApiResults.Error(ErrorCodes.NotFound, "no such route");
        var (document, error) = await JsonBody.Read(context.Request, cancellation);
        if (error is not null) return error;
        using (document)
        {
            var last = document!.RootElement.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array
                ? messages.EnumerateArray().LastOrDefault()
                : default;
            var content = last.ValueKind == JsonValueKind.Object && last.TryGetProperty("content", out var value) ? value : default;
            var answer = content.ValueKind == JsonValueKind.Array && ImageIn(content) is { } image
                ? string.Create(CultureInfo.InvariantCulture,
                    $"您好，我是AI助手（内置演示）。已收到您发来的图片（{image.ContentType}，{image.Bytes} 字节），医生会尽快查看并回复。如症状加重，请及时就医。")
                : string.Create(CultureInfo.InvariantCulture,
                    $"您好，我是AI助手（内置演示）。已收到您的{Limits.CountCharacters(content.ValueKind == JsonValueKind.String ? content.GetString() ?? "" : "")}字问题，医生会尽快查看并回复。如症状加重，请及时就医。");
            var id = "standin-" + Guid.NewGuid().ToString("N");
            if (document.RootElement.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True)
            {
                await Stream(context.Response, id, answer, TimeSpan.FromMilliseconds(Math.Max(0, settings.StandInChunkDelayMs)), cancellation);
                return Results.Empty;
            }
            return Results.Json(new
            {
                id,
                @object = "chat.completion",
                model = "stand-in",
                choices = new[] { new { index = 0, message = new { role = "assistant", content = answer }, finish_reason = "stop" } },
            });
        }
    }

    /// <summary>OpenAI's streamed answer: <c>data:</c> lines of <c>chat.completion.chunk</c>, then <c>data: [DONE]</c>.</summary>
    private static async Task Stream(HttpResponse response, string id, string answer, TimeSpan pause, CancellationToken cancellation)
    {
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        try
        {
            var runes = answer.EnumerateRunes().Select(r => r.ToString()).ToList();
            for (var at = 0; at < runes.Count; at += PieceLength)
            {
                var piece = string.Concat(runes.Skip(at).Take(PieceLength));
                await Event(response, new
                {
                    id,
                    @object = "chat.completion.chunk",
                    model = "stand-in",
                    choices = new[] { new { index = 0, delta = new { content = piece }, finish_reason = (string?)null } },
                }, cancellation);
                if (pause > TimeSpan.Zero) await Task.Delay(pause, cancellation);
            }
            await Event(response, new
            {
                id,
                @object = "chat.completion.chunk",
                model = "stand-in",
                choices = new[] { new { index = 0, delta = new { content = (string?)null }, finish_reason = (string?)"stop" } },
            }, cancellation);
            await response.WriteAsync("data: [DONE]\n\n", cancellation);
        }
        catch (OperationCanceledException)
        {
            // The caller stopped the reply or gave up: nothing more to send.
        }
    }

    private static async Task Event<T>(HttpResponse response, T chunk, CancellationToken cancellation)
    {
        await response.WriteAsync("data: " + JsonSerializer.Serialize(chunk) + "\n\n", cancellation);
        await response.Body.FlushAsync(cancellation);
    }
}

/// <summary>
/// The AI URL: <c>Ai__Endpoint</c>, or this host's own stand-in, whose address is known only once
/// the server listens (the port may be chosen by the OS).
/// </summary>
public sealed class AiEndpointResolver(AiSettings settings) : IAiEndpoint
{
    private string? _standIn;

    public string Url => string.IsNullOrEmpty(settings.Endpoint)
        ? _standIn ?? throw new InvalidOperationException("The stand-in AI address is not known before the server starts.")
        : settings.Endpoint;

    /// <summary>Learns the stand-in's address from the server once it listens.</summary>
    public sealed class AddressBinder(AiEndpointResolver resolver, IServiceProvider services) : IHostedLifecycleService
    {
        public Task StartedAsync(CancellationToken cancellationToken)
        {
            var addresses = services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            var address = addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.Ordinal)) ?? addresses.FirstOrDefault();
            if (address is not null)
            {
                var uri = new UriBuilder(address.Replace("://+", "://localhost").Replace("://*", "://localhost"));
                if (uri.Host is "0.0.0.0" or "[::]" or "::") uri.Host = "127.0.0.1";
                resolver._standIn = uri.Uri.GetLeftPart(UriPartial.Authority) + StandInAi.Path;
            }
            return Task.CompletedTask;
        }

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
