using System.ComponentModel.DataAnnotations;

namespace Im.Contracts;

public sealed record CreateUserRequest(
    [property: StringLength(Limits.UsernameMax, MinimumLength = 1)] string Username,
    [property: AllowedValues(UserRoles.Patient, UserRoles.Doctor, UserRoles.AiAssistant)] string UserRole);

public sealed record UpdateUserRoleRequest(
    [property: AllowedValues(UserRoles.Patient, UserRoles.Doctor, UserRoles.AiAssistant)] string UserRole);

public sealed record UserResponse(
    long Id,
    string UserId,
    string Username,
    [property: AllowedValues(UserRoles.Patient, UserRoles.Doctor, UserRoles.AiAssistant)] string UserRole,
    string CreatedAt,
    string UpdatedAt);
