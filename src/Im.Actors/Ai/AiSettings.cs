namespace Im.Actors.Ai;

/// <summary>The <c>Ai__*</c> settings of DESIGN.md.</summary>
public sealed class AiSettings
{
    public const string DefaultSystemPrompt =
        "You are a medical consultation assistant in a group chat with a patient and their doctors. " +
        "Answer the patient's latest message briefly and carefully, in the patient's language. " +
        "Do not diagnose or prescribe; advise seeing a doctor in person when it matters.";

    /// <summary>An OpenAI-compatible chat-completions URL; unset means the host's built-in stand-in.</summary>
    public string? Endpoint { get; init; }
    public string Model { get; init; } = "stand-in";
    public string? ApiKey { get; init; }
    public int TimeoutSeconds { get; init; } = 30;
    public int MaxConcurrency { get; init; } = 64;
    public string SystemPrompt { get; init; } = DefaultSystemPrompt;
    public int ContextMessages { get; init; } = 20;
    public string AssistantUserId { get; init; } = "ai_assistant_001";

    /// <summary>Ask for OpenAI's streamed answer (server-sent events), so clients see the reply as it is written.</summary>
    public bool Stream { get; init; } = true;

    /// <summary>The built-in stand-in's pause between streamed pieces, so a fresh clone shows a reply being written.</summary>
    public int StandInChunkDelayMs { get; init; } = 50;

    /// <summary>Consecutive failed AI calls that open the circuit: later calls fail at once with <c>4001: circuit open</c>.</summary>
    public int BreakerFailures { get; init; } = 5;

    /// <summary>How long the circuit stays open before one call is let through to probe the service.</summary>
    public int BreakerResetSeconds { get; init; } = 30;

    /// <summary>Show a patient's image to the model (OpenAI's <c>image_url</c> part); off, it reads <c>[image]</c>.</summary>
    public bool Vision { get; init; } = true;

    /// <summary>Patients' messages waiting for a free caller beyond this are failed at once (4001), not queued without bound.</summary>
    public int MaxQueued { get; init; } = 10_000;

    public TimeSpan Timeout => TimeSpan.FromSeconds(TimeoutSeconds);
}
