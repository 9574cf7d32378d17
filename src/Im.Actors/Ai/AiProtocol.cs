namespace Im.Actors.Ai;

public static class AiCommands
{
    /// <summary>A patient's stored message whose interaction record is open at status 0.</summary>
    public sealed record Forward(string GroupId, string UserMessageId, long Seq, string RecordId);
}

/// <summary>Where AI calls go: the configured endpoint, or the host's own stand-in once its address is known.</summary>
public interface IAiEndpoint
{
    string Url { get; }
}
