using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

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
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        Apply(options);
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>
    /// The dialect on options that start from <see cref="JsonSerializerDefaults.Web"/>, such as ASP.NET's
    /// own: the host's responses and its OpenAPI schemas are then written in it without naming these options.
    /// </summary>
    public static void Apply(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        // Relaxed escaping writes 张三 as 张三, not \u5F20\u4E09; HTML-sensitive characters stay escaped
        // only where JSON itself requires it, which is safe for application/json bodies.
        options.Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        // Nulls are written (an absent optional field is null on the wire); the Web defaults already do.
        options.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
    }

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);
}
