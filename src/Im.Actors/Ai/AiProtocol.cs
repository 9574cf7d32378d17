using Akka.Actor;

namespace Im.Actors.Ai;

/// <summary>
/// Between a GroupActor and its node's <see cref="AiPipelineActor"/>. Both live on the same node
/// (a group's calls run where its writer runs), so these never cross the network.
/// </summary>
public static class AiPipeline
{
    /// <summary>
    /// One attempt of a record: the patient's message, the <c>seq</c> range sent as context, and who
    /// sees it being written. The pipeline answers the sender with <see cref="Groups.GroupCommands.AiAnswered"/>,
    /// unless the attempt is stopped.
    /// </summary>
    public sealed record Call(
        string GroupId,
        string RecordId,
        int Attempt,
        string UserMessageId,
        long ContextFromSeq,
        long ContextToSeq,
        IReadOnlyCollection<string> Recipients) : ILocalOnly;

    /// <summary>
    /// Cancel the attempt if it is queued or running. Answered with <see cref="Stopped"/> once no more of
    /// its frames will be published, so the writer can close the record after the last delta.
    /// </summary>
    public sealed record Stop(string RecordId, int Attempt) : ILocalOnly;

    public sealed record Stopped(string RecordId, int Attempt) : ILocalOnly;
}

/// <summary>Where AI calls go: the configured endpoint, or the host's own stand-in once its address is known.</summary>
public interface IAiEndpoint
{
    string Url { get; }
}

/// <summary>How the pipeline is built; every number comes from <see cref="AiSettings"/>.</summary>
public sealed record AiPipelineSettings(
    int MaxConcurrency,
    int MaxQueued,
    string SystemPrompt,
    bool Vision,
    TimeSpan DeltaInterval)
{
    /// <summary>At most about ten <c>ai_delta</c> frames a second per reply (DESIGN.md).</summary>
    public static readonly TimeSpan DefaultDeltaInterval = TimeSpan.FromMilliseconds(100);

    public static AiPipelineSettings From(AiSettings ai) =>
        new(Math.Max(1, ai.MaxConcurrency), Math.Max(1, ai.MaxQueued), ai.SystemPrompt, ai.Vision, DefaultDeltaInterval);
}
