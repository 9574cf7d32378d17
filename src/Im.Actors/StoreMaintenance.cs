using Im.Actors.Ai;
using Im.Actors.Storage;
using Im.Contracts;

namespace Im.Actors;

/// <summary>What a node does to the store once at start-up, before it takes traffic.</summary>
public static class StoreMaintenance
{
    /// <summary>
    /// A store of the key layout before the cluster one moved to it (<see cref="KeyLayoutMigration"/>),
    /// then the AI assistant's user. Answers what was moved, by kind (empty for nothing).
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, int>> Run(ImStore store, AiSettings ai)
    {
        var moved = await store.MigrateKeyLayout();
        await store.EnsureUser(ai.AssistantUserId, "AI Assistant", UserRoles.AiAssistant);
        return moved;
    }
}
