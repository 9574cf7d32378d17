using Im.Contracts;
using StackExchange.Redis;

namespace Im.Actors;

/// <summary>The refusals the actors give, by name.</summary>
public static class Errors
{
    public static readonly ApiError UserNotFound = new(ErrorCodes.UserNotFound, "user not found");
    public static readonly ApiError GroupNotFound = new(ErrorCodes.GroupNotFound, "group not found");
    public static readonly ApiError AlreadyMember = new(ErrorCodes.AlreadyMember, "user is already a member of the group");
    public static readonly ApiError NotMember = new(ErrorCodes.NotMember, "user is not a member of the group");
    public static readonly ApiError MessageNotFound = new(ErrorCodes.MessageNotFound, "message not found");
    public static readonly ApiError MediaNotFound = new(ErrorCodes.MediaNotFound, "image not found");
    public static readonly ApiError NotGroupMedia = ApiError.Invalid("content",
        "the content of an IMAGE message must be the media_id of an image uploaded to this group");
    public static readonly ApiError Forbidden = new(ErrorCodes.Forbidden, "the caller is not allowed to do this");
    public static readonly ApiError IdempotencyConflict = new(ErrorCodes.IdempotencyConflict,
        "this client_msg_id was already used for a different message in this group");
    public static readonly ApiError RecordNotFound = new(ErrorCodes.RecordNotFound, "AI interaction record not found");
    public static readonly ApiError AttemptNotOpen = new(ErrorCodes.InvalidState, "this AI reply's attempt is no longer open");
    public static ApiError InvalidState(string why) => new(ErrorCodes.InvalidState, why);
    public static readonly ApiError StoreUnavailable = new(ErrorCodes.ServiceUnavailable, "the store is unavailable, try again");
    public static readonly ApiError Internal = new(ErrorCodes.InternalError, "internal error");

    /// <summary>A store that cannot be reached is a 503 the client may retry; anything else is a bug, a 500.</summary>
    public static ApiError For(Exception cause) => cause switch
    {
        AggregateException { InnerException: { } inner } => For(inner),
        RedisException or TimeoutException => StoreUnavailable,
        InvalidOperationException when WrittenToAClosedStoreConnection(cause) => StoreUnavailable,
        _ => Internal,
    };

    // StackExchange.Redis can race a connection that is being torn down and throw the pipe's own
    // "writing is not allowed after writer was completed" instead of a RedisConnectionException;
    // it is the same dropped connection, and the command was never sent.
    private static bool WrittenToAClosedStoreConnection(Exception cause) =>
        cause.Source == "System.IO.Pipelines" && cause.StackTrace?.Contains("StackExchange.Redis.", StringComparison.Ordinal) == true;
}
