using System.Text.Encodings.Web;
using System.Text.Json;

namespace Im.Contracts;

/// <summary>The one JSON dialect of the wire: snake_case names, nulls written, CJK text unescaped.</summary>
public static class ImJson
{
    public static readonly JsonSerializerOptions Options = Create();

    /// <summary>
    /// How request bodies and frames are parsed: a repeated property is an error, not a silent
    /// choice of one of its values (two parsers reading one body differently is how checks are bypassed).
    /// </summary>
    public static readonly JsonDocumentOptions DocumentOptions = new() { AllowDuplicateProperties = false };

    public static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            // Relaxed escaping writes 张三 as 张三, not \u5F20\u4E09; HTML-sensitive characters stay escaped
            // only where JSON itself requires it, which is safe for application/json bodies.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);
}
