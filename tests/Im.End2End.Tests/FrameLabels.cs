using System.Text.Json.Nodes;
using Im.Contracts;

namespace Im.End2End.Tests;

/// <summary>Pushed frames as the order assertions of the AI specs compare them.</summary>
internal static class FrameLabels
{
    /// <summary>Its type, and a state's name and code or a piece's index: <c>ai_state failed 4001</c>, <c>ai_delta 2</c>.</summary>
    public static string Label(JsonNode frame) => (string?)frame["type"] switch
    {
        FrameTypes.AiState => $"ai_state {(string?)frame["state"]}{((string?)frame["code"] is { } code ? " " + code : "")}",
        FrameTypes.AiDelta => $"ai_delta {(int)frame["index"]!}",
        var type => type ?? frame.ToJsonString(),
    };
}
