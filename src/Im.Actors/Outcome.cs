using Akka.Actor;
using Im.Contracts;

namespace Im.Actors;

/// <summary>
/// The one reply type of every command and query: a value or the spec's error. Im.Host maps it
/// to HTTP in exactly one place.
/// </summary>
public sealed record Outcome<T>(T? Value, ApiError? Error) where T : class
{
    public static Outcome<T> Ok(T value) => new(value, null);
    public static Outcome<T> Fail(ApiError error) => new(null, error);
    public static Outcome<T> Fail(string code, string message) => new(null, new ApiError(code, message));
}

public static class Errors
{
    public static readonly ApiError UserNotFound = new(ErrorCodes.UserNotFound, "user not found");
    public static readonly ApiError GroupNotFound = new(ErrorCodes.GroupNotFound, "group not found");
    public static readonly ApiError AlreadyMember = new(ErrorCodes.AlreadyMember, "user is already a member of the group");
    public static readonly ApiError NotMember = new(ErrorCodes.NotMember, "user is not a member of the group");
    public static readonly ApiError MessageNotFound = new(ErrorCodes.MessageNotFound, "message not found");
    public static readonly ApiError StoreUnavailable = new(ErrorCodes.ServiceUnavailable, "the store is unavailable, try again");
}

/// <summary>Messages an actor sends only to itself; they never leave the process, so they skip serialization checks.</summary>
internal interface ILocalOnly : INoSerializationVerificationNeeded;
