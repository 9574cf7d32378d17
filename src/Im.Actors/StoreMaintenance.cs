using Im.Actors.Ai;
using Im.Actors.Storage;
using Im.Contracts;

namespace Im.Actors;

/// <summary>What a node does to the store once at start-up, before it takes traffic.</summary>
public static class StoreMaintenance
{
    /// <summary>The AI assistant's user, and the users' group indexes for groups made before they existed.</summary>
    public static async Task Run(ImStore store, AiSettings ai)
    {
        await store.EnsureUser(ai.AssistantUserId, "AI Assistant", UserRoles.AiAssistant);
        await store.IndexUserGroups();
    }
}
