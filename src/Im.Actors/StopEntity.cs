namespace Im.Actors;

/// <summary>
/// What the shard sends an entity to stop it, on passivation and on hand-off to another node.
/// Unlike a PoisonPill it waits its turn: an entity in the middle of a write stashes it, finishes
/// the write and replies, then stops, so a hand-over never cuts an acknowledged write short.
/// </summary>
public sealed record StopEntity
{
    public static readonly StopEntity Instance = new();
}
