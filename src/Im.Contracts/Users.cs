namespace Im.Contracts;

public sealed record CreateUserRequest(string Username, string UserRole);

public sealed record UpdateUserRoleRequest(string UserRole);

public sealed record UserResponse(
    long Id,
    string UserId,
    string Username,
    string UserRole,
    string CreatedAt,
    string UpdatedAt);
