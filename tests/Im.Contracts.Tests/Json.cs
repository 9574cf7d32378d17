using System.Text.Json;

namespace Im.Contracts.Tests;

/// <summary>Builds request bodies the way the host sees them: parsed JSON elements.</summary>
internal static class Json
{
    public static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    /// <summary>An object body from name/value pairs; a null value is written as JSON null.</summary>
    public static JsonElement Object(params (string Name, object? Value)[] fields) =>
        JsonSerializer.SerializeToElement(fields.ToDictionary(f => f.Name, f => f.Value));

    public static string Repeat(string text, int times) => string.Concat(Enumerable.Repeat(text, times));
}
