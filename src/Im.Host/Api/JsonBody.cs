using System.Text.Json;
using System.Text.Unicode;
using Im.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Im.Host.Api;

/// <summary>
/// Reads a request body as JSON by hand, so that a wrong content type, malformed JSON or a wrong
/// field type gets the spec's error body instead of ASP.NET's own.
/// </summary>
public static class JsonBody
{
    private const int MaxBytes = 64 * 1024;
    private static readonly ApiError TooLarge = ApiError.Invalid("body", $"the body must be at most {MaxBytes} bytes");

    public static async Task<(JsonDocument? Document, ApiErrorResult? Error)> Read(HttpRequest request, CancellationToken cancellation)
    {
        if (!request.HasJsonContentType())
            return (null, ApiResults.Error(ErrorCodes.UnsupportedMediaType, "Content-Type must be application/json"));
        if (request.ContentLength > MaxBytes)
            return (null, ApiResults.Error(TooLarge));
        try
        {
            using var body = new MemoryStream();
            var buffer = new byte[8192];
            int read;
            while ((read = await request.Body.ReadAsync(buffer, cancellation)) > 0)
            {
                // Chunked bodies have no Content-Length: stop reading as soon as the limit is passed.
                if (body.Length + read > MaxBytes)
                    return (null, ApiResults.Error(TooLarge));
                body.Write(buffer, 0, read);
            }
            // JsonDocument decodes only the strings it is asked for: invalid UTF-8 in a property name or
            // in a value nobody reads would pass, and the request be accepted. JSON text is UTF-8 (RFC 8259).
            if (!Utf8.IsValid(body.GetBuffer().AsSpan(0, (int)body.Length)))
                return (null, ApiResults.Error(ErrorCodes.InvalidParameter, "the body is not valid UTF-8"));
            body.Position = 0;
            return (await JsonDocument.ParseAsync(body, ImJson.DocumentOptions, cancellation), null);
        }
        catch (JsonException)
        {
            return (null, ApiResults.Error(ErrorCodes.InvalidParameter, "the body is not valid JSON (or repeats a property)"));
        }
    }

    /// <summary>Reads the body and hands the parsed request to <paramref name="handle"/>, or answers the first error.</summary>
    public static async Task<Results<Ok<TResponse>, ApiErrorResult>> Handle<T, TResponse>(HttpRequest request, Func<JsonElement, Outcome<T>> parse,
        Func<T, Task<Results<Ok<TResponse>, ApiErrorResult>>> handle, CancellationToken cancellation) where T : class
    {
        var (document, error) = await Read(request, cancellation);
        if (error is not null) return error;
        using (document)
        {
            var parsed = parse(document!.RootElement);
            return parsed.Error is { } invalid ? ApiResults.Error(invalid) : await handle(parsed.Value!);
        }
    }
}
