using Im.Contracts;

namespace Im.Actors;

public enum AuthMode
{
    /// <summary>Development: the caller is whoever the <c>X-User-Id</c> header names.</summary>
    Header,

    /// <summary>Production: the caller is the verified <c>sub</c> of a token.</summary>
    Jwt,
}

/// <summary>
/// Who asks, as the host authenticated them. <see cref="UserId"/> is null when a Header-mode
/// request names nobody (v0.2 reads need no caller). An admin (a token whose <c>scope</c> holds
/// <c>im:admin</c>) need not be a user at all.
/// </summary>
public sealed record Caller(string? UserId, bool IsAdmin, AuthMode Mode)
{
    public static Caller FromHeader(string? userId) => new(userId, false, AuthMode.Header);

    public static Caller FromToken(string userId, bool isAdmin) => new(userId, isAdmin, AuthMode.Jwt);

    /// <summary>Header mode keeps v0.2 exactly: its actions are open to anyone, with or without a caller.</summary>
    public bool HasV02Access => Mode == AuthMode.Header;
}

/// <summary>What the rule for <c>/metrics</c> and <c>/api/ops/*</c> decides.</summary>
public enum OpsAccess
{
    Allowed,

    /// <summary>401: no credentials, or credentials that prove nothing (a wrong token, an invalid JWT).</summary>
    Unauthenticated,

    /// <summary>403: a known caller (a user's token, an <c>X-User-Id</c>) who is not an operator.</summary>
    Forbidden,
}

/// <summary>
/// DESIGN.md's authorization table, every rule in one place, as pure functions of the caller and
/// the facts the deciding actor holds (a group role from the group's single writer or the store).
/// Actors apply them after validation and the 404 checks, so refusals come in the documented order
/// 401 → 429 → 400 → 404 (group, message) → 403 → 404 2001 → 2002/2003.
/// </summary>
public static class Access
{
    /// <summary>Create a user, change a user's system role: admin (any caller in Header mode).</summary>
    public static bool MayManageUsers(this Caller caller) => caller.HasV02Access || caller.IsAdmin;

    /// <summary>Read a user: the user, an admin, or anyone who shares a group with the user (asked only when needed).</summary>
    public static async Task<bool> MayReadUser(this Caller caller, string userId, Func<string, Task<bool>> sharesAGroupWith) =>
        caller.HasV02Access || caller.IsAdmin || caller.UserId == userId
        || (caller.UserId is { } self && await sharesAGroupWith(self));

    /// <summary>Create a group: a user whose system role is DOCTOR (who becomes its creator), or an admin naming one.</summary>
    public static bool MayCreateGroup(this Caller caller, string? callerSystemRole) =>
        caller.HasV02Access || caller.IsAdmin || callerSystemRole == UserRoles.Doctor;

    /// <summary>Read a group, its members, messages and AI records: its members and admins.</summary>
    /// <param name="callerGroupRole">The caller's role in the group, null when not a member.</param>
    public static bool MayReadGroup(this Caller caller, string? callerGroupRole) =>
        caller.HasV02Access || caller.IsAdmin || callerGroupRole is not null;

    /// <summary>Send to a group, upload an image to it: its members, in both modes (v0.2's rule; an admin is no member).</summary>
    public static bool MayPostTo(string? callerGroupRole) => callerGroupRole is not null;

    /// <summary>Add a member: members whose group role is DOCTOR, and admins.</summary>
    public static bool MayAddMember(this Caller caller, string? callerGroupRole) =>
        caller.HasV02Access || caller.IsAdmin || callerGroupRole == UserRoles.Doctor;

    /// <summary>Remove a member: new in this phase, so checked in Header mode too.</summary>
    public static bool MayRemoveMember(this Caller caller, string? callerGroupRole) =>
        caller.IsAdmin || callerGroupRole == UserRoles.Doctor;

    /// <summary>
    /// AI control (retry now; the group's mode and drafts next): members whose group role is DOCTOR, and
    /// admins. New in this phase, so checked in Header mode too.
    /// </summary>
    public static bool MayControlAi(this Caller caller, string? callerGroupRole) =>
        caller.IsAdmin || callerGroupRole == UserRoles.Doctor;

    /// <summary>Stop an AI reply: what <see cref="MayControlAi"/> allows, and the patient who asked while still a member.</summary>
    /// <param name="askedBy">Who sent the message the reply answers.</param>
    public static bool MayStopAiReply(this Caller caller, string? callerGroupRole, string askedBy) =>
        caller.MayControlAi(callerGroupRole) || (callerGroupRole is not null && caller.UserId == askedBy);

    /// <summary>Open <c>/ws/{user_id}</c>: that user only; not even an admin listens in on someone else.</summary>
    public static bool MayOpenSocketOf(this Caller caller, string userId) => caller.HasV02Access || caller.UserId == userId;

    /// <summary>
    /// Who creates a group: in Header mode the caller; in Jwt mode the caller, or for an admin the
    /// user named in <c>created_by</c> (required, since an admin is no member).
    /// </summary>
    public static Outcome<string> CreatorOf(this Caller caller, string? createdBy)
    {
        if (caller.HasV02Access) return caller.UserId!;
        if (caller.IsAdmin)
            return createdBy ?? (Outcome<string>)ApiError.Invalid("created_by", "an admin names the group's creator in created_by");
        return createdBy is null || createdBy == caller.UserId ? caller.UserId! : Errors.Forbidden;
    }

    /// <summary>
    /// <c>/metrics</c> and <c>/api/ops/*</c>, in both modes. With <c>Ops__Token</c> set: that token as
    /// a bearer, or an admin's JWT (Jwt mode). Unset: any caller on loopback (the operator on the
    /// box, a local Prometheus), or an admin's JWT from anywhere.
    /// </summary>
    /// <param name="opsTokenSet">Whether <c>Ops__Token</c> is configured.</param>
    /// <param name="presentsOpsToken">The request's bearer is that token.</param>
    /// <param name="isAdmin">The request carries a valid JWT whose scope holds <c>im:admin</c>.</param>
    /// <param name="isLoopback">The TCP peer is this machine (not what a header claims).</param>
    /// <param name="isAuthenticated">The request names a caller the host accepted (a valid JWT, or Header mode's <c>X-User-Id</c>).</param>
    public static OpsAccess MayOperate(bool opsTokenSet, bool presentsOpsToken, bool isAdmin, bool isLoopback, bool isAuthenticated)
    {
        if ((opsTokenSet && presentsOpsToken) || isAdmin || (!opsTokenSet && isLoopback)) return OpsAccess.Allowed;
        return isAuthenticated ? OpsAccess.Forbidden : OpsAccess.Unauthenticated;
    }
}
