namespace Im.Contracts;

/// <param name="CreatedBy">Jwt mode: an admin names the creator here; anyone else is the creator.</param>
public sealed record CreateGroupRequest(string GroupName, string? Description, string? CreatedBy = null);

public sealed record AddMemberRequest(string UserId, string UserRole);

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

public sealed record MemberResponse(string UserId, string UserRole, string JoinedAt);

public sealed record MemberListResponse(string GroupId, IReadOnlyList<MemberResponse> Members, int Total);

/// <summary><c>GET /api/info</c>: what a client needs to know before it logs in.</summary>
public sealed record InfoResponse(string AuthMode, string Version, bool AiStream);
