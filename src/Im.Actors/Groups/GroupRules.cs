using System.Collections.Immutable;
using Im.Contracts;

namespace Im.Actors.Groups;

/// <summary>What a GroupActor knows: whether its group exists and each member's group role.</summary>
public sealed record GroupState(string GroupId, bool Exists, ImmutableDictionary<string, string> MemberRoles)
{
    public static GroupState Absent(string groupId) => new(groupId, false, ImmutableDictionary<string, string>.Empty);

    public static GroupState Existing(string groupId, IEnumerable<KeyValuePair<string, string>> memberRoles) =>
        new(groupId, true, memberRoles.ToImmutableDictionary());
}

public abstract record SendDecision
{
    private SendDecision() { }

    public sealed record Refuse(ApiError Error) : SendDecision;

    /// <summary>Store it; hand it to the AI if the sender's <b>group</b> role is PATIENT (spec 8.4).</summary>
    public sealed record Accept(bool ForwardToAi) : SendDecision;

    /// <summary>The sender is not a member: 2003 if the user exists, 2001 if not (user checks come first).</summary>
    public sealed record RefuseAfterUserCheck : SendDecision;
}

public abstract record AddDecision
{
    private AddDecision() { }

    public sealed record Refuse(ApiError Error) : AddDecision;

    /// <summary>Not a member yet: add it if the user exists.</summary>
    public sealed record AddIfUserExists : AddDecision;
}

/// <summary>The group's rules as pure functions, so they are specified without an actor system.</summary>
public static class GroupRules
{
    public static SendDecision DecideSend(this GroupState state, string senderId)
    {
        if (!state.Exists) return new SendDecision.Refuse(Errors.GroupNotFound);
        if (!state.MemberRoles.TryGetValue(senderId, out var role)) return new SendDecision.RefuseAfterUserCheck();
        return new SendDecision.Accept(ForwardToAi: role == UserRoles.Patient);
    }

    public static AddDecision DecideAdd(this GroupState state, string userId)
    {
        if (!state.Exists) return new AddDecision.Refuse(Errors.GroupNotFound);
        // Membership is checked after the user exists (DESIGN.md's order), but a member is always an existing user.
        if (state.MemberRoles.ContainsKey(userId)) return new AddDecision.Refuse(Errors.AlreadyMember);
        return new AddDecision.AddIfUserExists();
    }

    public static ApiError? DecideAiReply(this GroupState state) => state.Exists ? null : Errors.GroupNotFound;

    public static GroupState WithMember(this GroupState state, string userId, string role) =>
        state with { Exists = true, MemberRoles = state.MemberRoles.SetItem(userId, role) };

    /// <summary>Who a stored message is pushed to: the members at the time it is stored.</summary>
    public static IReadOnlyCollection<string> Recipients(this GroupState state) => state.MemberRoles.Keys.ToList();
}
