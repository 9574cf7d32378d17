using System.Collections.Immutable;
using Im.Actors.Storage;
using Im.Contracts;

namespace Im.Actors.Groups;

/// <summary>
/// What a GroupActor knows: whether its group exists, each member's group role, the AI records it
/// has open (an attempt running in its node's pipeline) by record id, and how the group's AI answers:
/// its mode, how long a doctor's message keeps it quiet, and until when it is quiet now.
/// </summary>
public sealed record GroupState(
    string GroupId,
    bool Exists,
    ImmutableDictionary<string, string> MemberRoles,
    ImmutableDictionary<string, OpenAiRecord> OpenRecords,
    string AiMode = AiModes.Auto,
    int PauseAfterDoctorSeconds = 0,
    DateTimeOffset? AiPausedUntil = null)
{
    public static GroupState Absent(string groupId) =>
        new(groupId, false, ImmutableDictionary<string, string>.Empty, ImmutableDictionary<string, OpenAiRecord>.Empty);

    public static GroupState Existing(string groupId, IEnumerable<KeyValuePair<string, string>> memberRoles) =>
        new(groupId, true, memberRoles.ToImmutableDictionary(), ImmutableDictionary<string, OpenAiRecord>.Empty);

    /// <summary>The state of a stored group: its members and its AI settings, with a pause that may still run.</summary>
    public static GroupState Loaded(GroupSnapshot snapshot) =>
        Existing(snapshot.Group.GroupId, snapshot.MemberRoles) with
        {
            AiMode = snapshot.Group.AiMode,
            PauseAfterDoctorSeconds = snapshot.Group.PauseAfterDoctorSeconds,
            AiPausedUntil = snapshot.AiPausedUntil,
        };
}

public abstract record SendDecision
{
    private SendDecision() { }

    public sealed record Refuse(ApiError Error) : SendDecision;

    /// <summary>
    /// Store it; hand it to the AI if the sender's <b>group</b> role is PATIENT (spec 8.4), the AI is
    /// not off and not paused. A DOCTOR member's message may pause the AI until <paramref name="PausesAiUntil"/>.
    /// </summary>
    public sealed record Accept(bool ForwardToAi, DateTimeOffset? PausesAiUntil = null) : SendDecision;

    /// <summary>The sender is not a member: 2003 if the user exists, 2001 if not (user checks come first).</summary>
    public sealed record RefuseAfterUserCheck : SendDecision;
}

/// <summary>What to do with a member change (an add or a removal).</summary>
public abstract record MemberDecision
{
    private MemberDecision() { }

    public sealed record Refuse(ApiError Error) : MemberDecision;

    /// <summary>Not a member yet: add the user if the user exists (2001 otherwise).</summary>
    public sealed record AddIfUserExists : MemberDecision;

    /// <summary>A member: take them out.</summary>
    public sealed record Remove : MemberDecision;

    /// <summary>Not a member, so nothing to remove: 2003 if the user exists, 2001 if not.</summary>
    public sealed record RefuseAfterUserCheck : MemberDecision;
}

/// <summary>The group's rules as pure functions, so they are specified without an actor system.</summary>
public static class GroupRules
{
    public static SendDecision DecideSend(this GroupState state, string senderId, DateTimeOffset now)
    {
        if (!state.Exists) return new SendDecision.Refuse(Errors.GroupNotFound);
        if (!state.MemberRoles.TryGetValue(senderId, out var role)) return new SendDecision.RefuseAfterUserCheck();
        var aiListens = state.AiMode != AiModes.Off;
        return role switch
        {
            UserRoles.Patient => new SendDecision.Accept(ForwardToAi: aiListens && !(state.AiPausedUntil > now)),
            UserRoles.Doctor when aiListens && state.PauseAfterDoctorSeconds > 0 =>
                new SendDecision.Accept(ForwardToAi: false, PausesAiUntil: now.AddSeconds(state.PauseAfterDoctorSeconds)),
            _ => new SendDecision.Accept(ForwardToAi: false),
        };
    }

    /// <summary>Set the group's AI settings: a DOCTOR member or an admin (see <see cref="Access"/>).</summary>
    public static ApiError? DecideSetAi(this GroupState state, Caller caller)
    {
        if (!state.Exists) return Errors.GroupNotFound;
        return caller.MayControlAi(state.RoleOf(caller.UserId)) ? null : Errors.Forbidden;
    }

    public static GroupState WithAiSettings(this GroupState state, GroupAiResponse settings) =>
        state with { AiMode = settings.AiMode, PauseAfterDoctorSeconds = settings.PauseAfterDoctorSeconds };

    public static MemberDecision DecideAdd(this GroupState state, string userId, Caller caller)
    {
        if (!state.Exists) return new MemberDecision.Refuse(Errors.GroupNotFound);
        if (!caller.MayAddMember(state.RoleOf(caller.UserId))) return new MemberDecision.Refuse(Errors.Forbidden);
        // Membership is checked after the user exists (DESIGN.md's order), but a member is always an existing user.
        if (state.MemberRoles.ContainsKey(userId)) return new MemberDecision.Refuse(Errors.AlreadyMember);
        return new MemberDecision.AddIfUserExists();
    }

    public static MemberDecision DecideRemove(this GroupState state, string userId, Caller caller)
    {
        if (!state.Exists) return new MemberDecision.Refuse(Errors.GroupNotFound);
        if (!caller.MayRemoveMember(state.RoleOf(caller.UserId))) return new MemberDecision.Refuse(Errors.Forbidden);
        return state.MemberRoles.ContainsKey(userId) ? new MemberDecision.Remove() : new MemberDecision.RefuseAfterUserCheck();
    }

    public static string? RoleOf(this GroupState state, string? userId) =>
        userId is not null && state.MemberRoles.TryGetValue(userId, out var role) ? role : null;

    public static GroupState WithMember(this GroupState state, string userId, string role) =>
        state with { Exists = true, MemberRoles = state.MemberRoles.SetItem(userId, role) };

    public static GroupState WithoutMember(this GroupState state, string userId) =>
        state with { MemberRoles = state.MemberRoles.Remove(userId) };

    public static GroupState WithOpenRecord(this GroupState state, OpenAiRecord record) =>
        state with { OpenRecords = state.OpenRecords.SetItem(record.RecordId, record) };

    public static GroupState WithoutOpenRecord(this GroupState state, string recordId) =>
        state with { OpenRecords = state.OpenRecords.Remove(recordId) };

    /// <summary>The open record whose running attempt is <paramref name="attempt"/>; null if that attempt is over.</summary>
    public static OpenAiRecord? OpenAttempt(this GroupState state, string recordId, int attempt) =>
        state.OpenRecords.TryGetValue(recordId, out var open) && open.Attempt == attempt ? open : null;

    /// <summary>The members whose group role is DOCTOR: who sees a draft.</summary>
    public static IReadOnlyCollection<string> Doctors(this GroupState state) =>
        state.MemberRoles.Where(m => m.Value == UserRoles.Doctor).Select(m => m.Key).ToList();

    /// <summary>Who a stored message is pushed to: the members at the time it is stored.</summary>
    public static IReadOnlyCollection<string> Recipients(this GroupState state) => state.MemberRoles.Keys.ToList();
}
