using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Flurl.Http;
using Im.Contracts;

namespace Im.Actors.Ai;

/// <param name="Content">Text, or for a patient's image a list of parts (OpenAI's vision format).</param>
public sealed record ChatMessage(string Role, object Content)
{
    public override string ToString() => $"ChatMessage {{ Role = {Role}, Content = {(Content is string text ? Redact.Text(text) : "parts")} }}";
}

/// <summary>An image given to the model: <c>{"type":"image_url","image_url":{"url":"data:…;base64,…"}}</c>.</summary>
public sealed record ImageUrlPart(ImageUrl ImageUrl)
{
    public string Type => "image_url";

    public static ImageUrlPart Inline(string contentType, byte[] bytes) =>
        new(new ImageUrl($"data:{contentType};base64,{Convert.ToBase64String(bytes)}"));
}

public sealed record ImageUrl(string Url)
{
    public override string ToString() => $"ImageUrl {{ Url = <{Url.Length} chars> }}";
}

/// <summary>The image of the message that triggered the call, shown to a model that can see.</summary>
public sealed record VisionImage(string MessageId, string ContentType, byte[] Bytes);

public sealed record ChatRequest(string Model, IReadOnlyList<ChatMessage> Messages, bool Stream);

public abstract record AiCallResult(long DurationMs)
{
    public sealed record Answered(string Content, long DurationMs) : AiCallResult(DurationMs)
    {
        public override string ToString() => $"Answered {{ Content = {Redact.Text(Content)}, DurationMs = {DurationMs} }}";
    }

    /// <summary><paramref name="Code"/> is 4001, 4002 or 4003; <paramref name="Reason"/> never holds message content.</summary>
    public sealed record Failed(string Code, string Reason, long DurationMs) : AiCallResult(DurationMs)
    {
        public string ErrorMessage => $"{Code}: {Reason}";
    }
}

/// <summary>
/// Calls an OpenAI-compatible chat-completions endpoint with Flurl.Http and classifies the outcome:
/// transport error, non-2xx or a stream cut short is 4001, no complete answer in time is 4002, an
/// answer without content is 4003. With <c>Ai__Stream</c> it asks for OpenAI's streamed answer
/// (server-sent events) and hands each piece on as it comes; an endpoint that answers one JSON body
/// instead is read as before. No retries: the record tells what happened.
/// </summary>
public sealed class AiClient(AiSettings settings, IAiEndpoint endpoint)
{
    public IAiEndpoint Endpoint => endpoint;

    /// <param name="onText">
    /// Each piece of the answer as it arrives (a plain JSON answer is one piece), within the 5000-character
    /// limit, so the pieces concatenate to the answer's content.
    /// </param>
    /// <param name="cancellation">Stops the call (the service sees its connection closed) and throws <see cref="OperationCanceledException"/>.</param>
    public async Task<AiCallResult> Complete(IReadOnlyList<ChatMessage> messages, Func<string, Task>? onText = null,
        CancellationToken cancellation = default)
    {
        var body = JsonSerializer.Serialize(new ChatRequest(settings.Model, messages, settings.Stream), ImJson.Options);
        var watch = Stopwatch.StartNew();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        deadline.CancelAfter(settings.Timeout);
        onText ??= _ => Task.CompletedTask;
        try
        {
            // The deadline covers the whole answer, streamed or not; Flurl's own timeout would end at the headers.
            var request = new FlurlRequest(endpoint.Url).WithTimeout(Timeout.InfiniteTimeSpan).AllowAnyHttpStatus();
            if (!string.IsNullOrEmpty(settings.ApiKey)) request = request.WithOAuthBearerToken(settings.ApiKey);
            using var response = await request.SendAsync(HttpMethod.Post, new StringContent(body, Encoding.UTF8, "application/json"),
                HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            if (response.StatusCode is < 200 or > 299)
                return new AiCallResult.Failed(ErrorCodes.AiCallFailed, $"AI service answered HTTP {response.StatusCode}", watch.ElapsedMilliseconds);
            var content = response.ResponseMessage.Content;
            if (content.Headers.ContentType?.MediaType == "text/event-stream")
                return await ReadStream(await content.ReadAsStreamAsync(deadline.Token), onText, watch, deadline.Token);
            var answer = ReadAnswer(await content.ReadAsStringAsync(deadline.Token), watch.ElapsedMilliseconds);
            if (answer is AiCallResult.Answered whole) await onText(whole.Content);
            return answer;
        }
        catch (Exception ex) when (cancellation.IsCancellationRequested && ex is not OperationCanceledException)
        {
            // Stopped by the caller: however the transport reported it (Flurl wraps a cancellation before the
            // headers), it is a cancellation, not a failure of the service.
            throw new OperationCanceledException("the AI call was stopped", ex, cancellation);
        }
        catch (Exception ex) when (ex is OperationCanceledException or FlurlHttpException { InnerException: OperationCanceledException }
                                   && deadline.IsCancellationRequested && !cancellation.IsCancellationRequested)
        {
            return TimedOut(watch);
        }
        catch (FlurlHttpException ex) when (!cancellation.IsCancellationRequested)
        {
            return new AiCallResult.Failed(ErrorCodes.AiCallFailed, $"AI service unreachable: {ex.InnerException?.GetType().Name ?? ex.GetType().Name}",
                watch.ElapsedMilliseconds);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException && !cancellation.IsCancellationRequested)
        {
            return new AiCallResult.Failed(ErrorCodes.AiCallFailed, $"the answer broke off: {ex.GetType().Name}", watch.ElapsedMilliseconds);
        }
    }

    /// <summary>
    /// OpenAI's stream: <c>data: {"choices":[{"delta":{"content":"…"}}]}</c> lines, then <c>data: [DONE]</c>.
    /// A stream that ends without [DONE] broke off (4001); a piece that is not JSON is 4003.
    /// </summary>
    private static async Task<AiCallResult> ReadStream(Stream stream, Func<string, Task> onText, Stopwatch watch, CancellationToken cancellation)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var answer = new StringBuilder();
        var characters = 0;
        while (await reader.ReadLineAsync(cancellation) is { } line)
        {
            if (!line.StartsWith("data:", StringComparison.Ordinal)) continue;
            var data = line.AsSpan(5).Trim();
            if (data.SequenceEqual("[DONE]")) return Finished(answer, watch);
            string? piece;
            try
            {
                piece = DeltaOf(data.ToString());
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException)
            {
                return new AiCallResult.Failed(ErrorCodes.AiBadResponse, "a streamed piece is not JSON", watch.ElapsedMilliseconds);
            }
            if (string.IsNullOrEmpty(piece)) continue;
            piece = WithinLimit(piece, ref characters);
            answer.Append(piece);
            if (piece.Length > 0) await onText(piece);
            // A reply is cut at the limit: the rest of the stream would be thrown away.
            if (characters >= Limits.ContentMax) return Finished(answer, watch);
        }
        return new AiCallResult.Failed(ErrorCodes.AiCallFailed, "the stream ended before [DONE]", watch.ElapsedMilliseconds);
    }

    private static AiCallResult Finished(StringBuilder answer, Stopwatch watch) =>
        string.IsNullOrWhiteSpace(answer.ToString())
            ? new AiCallResult.Failed(ErrorCodes.AiBadResponse, "the streamed answer is empty", watch.ElapsedMilliseconds)
            : new AiCallResult.Answered(answer.ToString(), watch.ElapsedMilliseconds);

    private static string? DeltaOf(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        return root.ValueKind == JsonValueKind.Object
               && root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0
               && choices[0].ValueKind == JsonValueKind.Object
               && choices[0].TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object
               && delta.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String
            ? content.GetString()
            : null;
    }

    /// <summary>The piece, cut at a character boundary where the answer reaches the 5000-character limit.</summary>
    private static string WithinLimit(string piece, ref int characters)
    {
        var kept = new StringBuilder();
        foreach (var rune in piece.EnumerateRunes())
        {
            if (characters == Limits.ContentMax) break;
            kept.Append(rune.ToString());
            characters++;
        }
        return kept.ToString();
    }

    private AiCallResult TimedOut(Stopwatch watch) =>
        new AiCallResult.Failed(ErrorCodes.AiTimeout, $"no answer within {settings.TimeoutSeconds} s", watch.ElapsedMilliseconds);

    private static AiCallResult ReadAnswer(string text, long durationMs)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("choices", out var choices)
                && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0
                && choices[0].ValueKind == JsonValueKind.Object
                && choices[0].TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object
                && message.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String
                && content.GetString() is { Length: > 0 } answer && !string.IsNullOrWhiteSpace(answer))
            {
                return new AiCallResult.Answered(Truncate(answer), durationMs);
            }
            return new AiCallResult.Failed(ErrorCodes.AiBadResponse, "answer has no choices[0].message.content", durationMs);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return new AiCallResult.Failed(ErrorCodes.AiBadResponse, "answer is not JSON", durationMs);
        }
    }

    // A reply longer than a message may be is cut, at a character boundary, to the limit.
    private static string Truncate(string answer)
    {
        var characters = 0;
        return WithinLimit(answer, ref characters);
    }

    /// <summary>Stands for an image the model is not shown: an earlier one, or any when <c>Ai__Vision</c> is off.</summary>
    public const string ImagePlaceholder = "[image]";

    /// <summary>
    /// The request's messages: the system prompt, then the context oldest first, AI replies as
    /// "assistant". Images are <c>[image]</c>, except <paramref name="image"/> (the patient's own,
    /// when the model may see it), which goes as an image part.
    /// </summary>
    public static IReadOnlyList<ChatMessage> BuildMessages(string systemPrompt, IEnumerable<MessageResponse> context, VisionImage? image = null) =>
        [
            new ChatMessage("system", systemPrompt),
            .. context.Select(m => new ChatMessage(m.MsgType == MessageTypes.AiReply ? "assistant" : "user", m.MsgType switch
            {
                MessageTypes.Image when image is not null && m.MessageId == image.MessageId =>
                    new object[] { ImageUrlPart.Inline(image.ContentType, image.Bytes) },
                MessageTypes.Image => ImagePlaceholder,
                _ => m.MsgContent,
            })),
        ];
}
