using System.Runtime.CompilerServices;
using Im.Actors.Storage;
using Im.Contracts;

namespace Im.Actors.Tests.Support;

/// <summary>Appends from a spec, not a writer: the ids come from id blocks of the store's own, as a writer's would.</summary>
public static class StoreAppends
{
    private static readonly ConditionalWeakTable<ImStore, Tuple<IdBlock, IdBlock>> Blocks = new();

    public static async Task<Outcome<AppendedMessage>> Append(this ImStore store, NewMessage message)
    {
        var (messages, records) = Blocks.GetValue(store, s => Tuple.Create(s.NewMessageIds(), s.NewRecordIds()));
        return await store.AppendMessage(message with
        {
            Id = message.Id > 0 ? message.Id : await messages.Take(),
            RecordNumber = message.Ai is AiRecordChange.Open ? await records.Take() : 0,
        });
    }
}
