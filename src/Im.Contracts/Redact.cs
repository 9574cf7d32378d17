namespace Im.Contracts;

/// <summary>
/// What a record that carries health data prints of it: its length, never the text. Anything that
/// logs a message (Akka's dead letters, an exception's data, a debugger) sees this instead.
/// </summary>
public static class Redact
{
    public static string Text(string? text) => text is null ? "null" : $"<{text.Length} chars>";
}
