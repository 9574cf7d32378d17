using Akka.Actor;
using Im.Actors.Storage;
using Im.Contracts;

namespace Im.Actors.Groups;

/// <summary>
/// A stop, a retry or a review names a record, but only its group's writer may decide it: the record's group
/// is read from the store, and the command goes to that writer through the shard region.
/// </summary>
public static class AiRecordCommands
{
    /// <returns>The writer's answer, or 404 <c>RECORD_NOT_FOUND</c> for a record that does not exist.</returns>
    /// <exception cref="AskTimeoutException">The writer did not answer in time.</exception>
    public static async Task<Outcome<T>> Ask<T>(ImStore store, IActorRef groups, string recordId,
        Func<string, IRepliedWith<T>> command, TimeSpan timeout, CancellationToken cancellation = default) where T : class =>
        await store.RecordGroup(recordId) is { } groupId
            ? await groups.Ask<Outcome<T>>(command(groupId), timeout, cancellation)
            : Errors.RecordNotFound;
}
