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

public sealed record GroupResponse(
    long Id,
    string GroupId,
    string GroupName,
    string? Description,
    string CreatedBy,
    string CreatedAt,
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
