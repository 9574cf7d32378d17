using System.ComponentModel.DataAnnotations;

namespace Im.Contracts;

/// <param name="CreatedBy">Jwt mode: an admin names the creator here; anyone else is the creator.</param>
public sealed record CreateGroupRequest(
    [property: StringLength(Limits.GroupNameMax, MinimumLength = 1)] string GroupName,
    [property: StringLength(Limits.DescriptionMax)] string? Description = null,
    [property: StringLength(Limits.IdMax, MinimumLength = 1)] string? CreatedBy = null);

/// <param name="UserRole">The user's role in this group, which may differ from their system role.</param>
public sealed record AddMemberRequest(
    [property: StringLength(Limits.MemberUserIdMax, MinimumLength = 1)] string UserId,
    [property: AllowedValues(UserRoles.Patient, UserRoles.Doctor, UserRoles.AiAssistant)] string UserRole);

/// <param name="AiMode">How the group's AI answers patients (DESIGN.md, "Per-group AI mode").</param>
/// <param name="PauseAfterDoctorSeconds">How long a DOCTOR member's message keeps the AI quiet (0: not at all).</param>
public sealed record GroupResponse(
    long Id,
    string GroupId,
    string GroupName,
    string? Description,
    string CreatedBy,
    string CreatedAt,
    string UpdatedAt,
    [property: AllowedValues(AiModes.Auto, AiModes.Review, AiModes.Off)] string AiMode = AiModes.Auto,
    [property: Range(0, Limits.PauseAfterDoctorMax)] int PauseAfterDoctorSeconds = 0);

/// <summary><c>PUT /api/group/{group_id}/ai</c>: a DOCTOR member or an admin sets the group's AI mode.</summary>
/// <param name="PauseAfterDoctorSeconds">Omitted keeps the current value.</param>
public sealed record SetGroupAiRequest(
    [property: AllowedValues(AiModes.Auto, AiModes.Review, AiModes.Off)] string Mode,
    [property: Range(0, Limits.PauseAfterDoctorMax)] int? PauseAfterDoctorSeconds = null);

/// <summary>The group's AI settings as they are after a change, and who changed them when.</summary>
public sealed record GroupAiResponse(
    string GroupId,
    [property: AllowedValues(AiModes.Auto, AiModes.Review, AiModes.Off)] string AiMode,
    [property: Range(0, Limits.PauseAfterDoctorMax)] int PauseAfterDoctorSeconds,
    string UpdatedBy,
    string UpdatedAt);

public sealed record AddMemberResponse(bool Success, string Message)
{
    public static readonly AddMemberResponse Added = new(true, "Member added successfully");
}

/// <summary><c>{"success":true}</c>: the answer to a member's removal.</summary>
public sealed record SuccessResponse(bool Success)
{
    public static readonly SuccessResponse Done = new(true);
}

public sealed record MemberResponse(
    string UserId,
    [property: AllowedValues(UserRoles.Patient, UserRoles.Doctor, UserRoles.AiAssistant)] string UserRole,
    string JoinedAt);

public sealed record MemberListResponse(string GroupId, IReadOnlyList<MemberResponse> Members, int Total);

/// <summary><c>GET /api/info</c>: what a client needs to know before it logs in.</summary>
public sealed record InfoResponse([property: AllowedValues("header", "jwt")] string AuthMode, string Version, bool AiStream);
