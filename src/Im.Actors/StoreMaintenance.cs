using Im.Actors.Ai;
using Im.Actors.Storage;
using Im.Contracts;

namespace Im.Actors;

/// <summary>What a node does to the store once at start-up, before it takes traffic.</summary>
public static class StoreMaintenance
{
    public static Task Run(ImStore store, AiSettings ai) =>
        store.EnsureUser(ai.AssistantUserId, "AI Assistant", UserRoles.AiAssistant);
}
