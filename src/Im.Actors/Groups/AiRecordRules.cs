using Im.Actors.Storage;
using Im.Contracts;

namespace Im.Actors.Groups;

/// <summary>
/// Whether a record may be stopped or retried, as pure functions of what the group's writer holds
/// and the record as stored. Refusals come in the documented order: 404 (no such record in this
/// group) → 403 → 409 (the record's state does not allow it).
/// </summary>
public static class AiRecordRules
{
    public static ApiError? DecideStop(this GroupState state, StoredAiRecord? stored, Caller caller)
    {
        if (Unknown(state, stored) is { } unknown) return unknown;
        if (!caller.MayStopAiReply(state.RoleOf(caller.UserId), stored!.AskedBy)) return Errors.Forbidden;
        return state.OpenRecords.ContainsKey(stored.Record.RecordId)
            ? null
            : Errors.InvalidState("only an AI reply still being written can be stopped");
    }

    public static ApiError? DecideRetry(this GroupState state, StoredAiRecord? stored, Caller caller)
    {
        if (Unknown(state, stored) is { } unknown) return unknown;
        if (!caller.MayControlAi(state.RoleOf(caller.UserId))) return Errors.Forbidden;
        if (stored!.Record.Status != AiRecordStatus.Failed) return Errors.InvalidState("only a failed, stopped or rejected AI reply can be retried");
        // Records written before retries existed do not say which context they were sent.
        return stored.Record.ContextToSeq is null ? Errors.InvalidState("this record predates retries") : null;
    }

    /// <summary>Approve, reject or read a draft: a DOCTOR member or an admin, and only while the draft is pending.</summary>
    public static ApiError? DecideReview(this GroupState state, StoredAiRecord? stored, Caller caller)
    {
        if (Unknown(state, stored) is { } unknown) return unknown;
        if (!caller.MayControlAi(state.RoleOf(caller.UserId))) return Errors.Forbidden;
        return stored!.Draft is null ? Errors.InvalidState("no draft of this record waits for review") : null;
    }

    private static ApiError? Unknown(GroupState state, StoredAiRecord? stored) =>
        state.Exists && stored is not null && stored.Record.GroupId == state.GroupId ? null : Errors.RecordNotFound;
}
