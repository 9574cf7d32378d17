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
    public sealed record Answered(string Content, long DurationMs) : AiCallResult(DurationMs);

    /// <summary><paramref name="Code"/> is 4001, 4002 or 4003; <paramref name="Reason"/> never holds message content.</summary>
    public sealed record Failed(string Code, string Reason, long DurationMs) : AiCallResult(DurationMs)
    {
        public string ErrorMessage => $"{Code}: {Reason}";
    }
}

/// <summary>
/// Calls an OpenAI-compatible chat-completions endpoint with Flurl.Http and classifies the outcome:
/// transport error or non-2xx is 4001, no complete answer in time is 4002, an answer without
/// <c>choices[0].message.content</c> is 4003. No retries: the record tells what happened.
/// </summary>
public sealed class AiClient(AiSettings settings, IAiEndpoint endpoint)
{
    public IAiEndpoint Endpoint => endpoint;

    public async Task<AiCallResult> Complete(IReadOnlyList<ChatMessage> messages, CancellationToken cancellation = default)
    {
        var body = JsonSerializer.Serialize(new ChatRequest(settings.Model, messages, false), ImJson.Options);
        var watch = Stopwatch.StartNew();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        deadline.CancelAfter(settings.Timeout);
        try
        {
            var request = new FlurlRequest(endpoint.Url).WithTimeout(settings.Timeout).AllowAnyHttpStatus();
            if (!string.IsNullOrEmpty(settings.ApiKey)) request = request.WithOAuthBearerToken(settings.ApiKey);
            using var response = await request.PostAsync(new StringContent(body, Encoding.UTF8, "application/json"),
                cancellationToken: deadline.Token);
            var text = await response.ResponseMessage.Content.ReadAsStringAsync(deadline.Token);
            if (response.StatusCode is < 200 or > 299)
                return new AiCallResult.Failed(ErrorCodes.AiCallFailed, $"AI service answered HTTP {response.StatusCode}", watch.ElapsedMilliseconds);
            return ReadAnswer(text, watch.ElapsedMilliseconds);
        }
        catch (FlurlHttpTimeoutException)
        {
            return TimedOut(watch);
        }
        catch (Exception ex) when (ex is OperationCanceledException or FlurlHttpException { InnerException: OperationCanceledException }
                                   && deadline.IsCancellationRequested && !cancellation.IsCancellationRequested)
        {
            return TimedOut(watch);
        }
        catch (FlurlHttpException ex)
        {
            return new AiCallResult.Failed(ErrorCodes.AiCallFailed, $"AI service unreachable: {ex.InnerException?.GetType().Name ?? ex.GetType().Name}",
                watch.ElapsedMilliseconds);
        }
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
        if (answer.Length <= Limits.ContentMax) return answer;
        var builder = new StringBuilder();
        var count = 0;
        foreach (var rune in answer.EnumerateRunes())
        {
            if (count++ == Limits.ContentMax) break;
            builder.Append(rune.ToString());
        }
        return builder.ToString();
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
