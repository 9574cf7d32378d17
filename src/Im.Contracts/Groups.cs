namespace Im.Contracts;

public sealed record CreateGroupRequest(string GroupName, string? Description);

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

public sealed record MemberResponse(string UserId, string UserRole, string JoinedAt);

public sealed record MemberListResponse(string GroupId, IReadOnlyList<MemberResponse> Members, int Total);
