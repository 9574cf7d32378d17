using Im.Actors.Ai;
using Im.Actors.Storage;
using Im.Contracts;
using Microsoft.Extensions.Logging;

namespace Im.Actors;

/// <summary>What a node does to the store once at start-up, before it takes traffic.</summary>
public static class StoreMaintenance
{
    public static async Task Run(ImStore store, AiSettings ai, bool closeInterruptedRecords, ILogger logger)
    {
        await store.EnsureUser(ai.AssistantUserId, "AI Assistant", UserRoles.AiAssistant);
        if (!closeInterruptedRecords) return;
        // Alone, this node is the only one that could have been calling the AI: whatever is still
        // at status 0 was cut off by a crash and will never finish.
        var closed = 0;
        foreach (var recordId in await store.PendingRecordIds())
        {
            if (await store.FailRecord(recordId, $"{ErrorCodes.AiCallFailed}: interrupted", null)) closed++;
        }
        if (closed > 0) logger.LogWarning("Closed {Count} AI interaction records interrupted by a previous stop", closed);
    }
}
