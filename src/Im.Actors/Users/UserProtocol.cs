using Im.Actors.Storage;
using Im.Contracts;

namespace Im.Actors.Users;

public interface IWithUserId
{
    string UserId { get; }
}

/// <summary>Writes to a user; <paramref name="Caller"/> must be allowed to manage users (see <see cref="Access"/>).</summary>
public static class UserCommands
{
    public sealed record CreateUser(string UserId, string Username, string UserRole, Caller Caller) : IWithUserId, IRepliedWith<UserResponse>
    {
        public static CreateUser New(CreateUserRequest request, Caller caller) =>
            new(Ids.NewUserId(DateTimeOffset.UtcNow), request.Username, request.UserRole, caller);
    }

    public sealed record UpdateUserRole(string UserId, string UserRole, Caller Caller) : IWithUserId, IRepliedWith<UserResponse>;
}
