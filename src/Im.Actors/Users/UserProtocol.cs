using Im.Actors.Storage;
using Im.Contracts;

namespace Im.Actors.Users;

public interface IWithUserId
{
    string UserId { get; }
}

/// <summary>Writes to a user, each replied with <c>Outcome&lt;UserResponse&gt;</c>.</summary>
public static class UserCommands
{
    public sealed record CreateUser(string UserId, string Username, string UserRole) : IWithUserId
    {
        public static CreateUser New(CreateUserRequest request) =>
            new(Ids.NewUserId(DateTimeOffset.UtcNow), request.Username, request.UserRole);
    }

    public sealed record UpdateUserRole(string UserId, string UserRole) : IWithUserId;
}
