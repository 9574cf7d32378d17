namespace Im.Contracts;

/// <summary>Every code an error body or an error frame may carry (spec 5.2 plus DESIGN.md).</summary>
public static class ErrorCodes
{
    public const string InvalidParameter = "INVALID_PARAMETER";
    public const string ContentEmpty = "1001";
    public const string ContentTooLong = "1002";
    public const string GroupIdEmpty = "1003";
    public const string UserNotFound = "2001";
    public const string AlreadyMember = "2002";
    public const string NotMember = "2003";
    public const string GroupNotFound = "3001";
    public const string AiCallFailed = "4001";
    public const string AiTimeout = "4002";
    public const string AiBadResponse = "4003";
    public const string AiStopped = "4004";
    public const string AiRejected = "4005";
    public const string RecordNotFound = "RECORD_NOT_FOUND";
    public const string InvalidState = "INVALID_STATE";
    public const string MessageNotFound = "MESSAGE_NOT_FOUND";
    public const string MediaNotFound = "MEDIA_NOT_FOUND";
    public const string PayloadTooLarge = "PAYLOAD_TOO_LARGE";
    public const string Unauthorized = "UNAUTHORIZED";
    public const string Forbidden = "FORBIDDEN";
    public const string RateLimited = "RATE_LIMITED";
    public const string IdempotencyConflict = "IDEMPOTENCY_CONFLICT";
    public const string NotFound = "NOT_FOUND";
    public const string MethodNotAllowed = "METHOD_NOT_ALLOWED";
    public const string UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE";
    public const string ServiceUnavailable = "SERVICE_UNAVAILABLE";
    public const string InternalError = "INTERNAL_ERROR";
    public const string InvalidFrame = "INVALID_FRAME";
    public const string UnknownType = "UNKNOWN_TYPE";
    public const string TooManyConnections = "TOO_MANY_CONNECTIONS";
}

/// <summary>A refusal: a business code, a human message and optional details (field name and so on).</summary>
public sealed record ApiError(string Code, string Message, IReadOnlyDictionary<string, string>? Details = null)
{
    public static ApiError Invalid(string field, string message) =>
        new(ErrorCodes.InvalidParameter, message, new Dictionary<string, string> { ["field"] = field });
}

/// <summary>The spec's error body: <c>{"error":{"code","message","details"}}</c>.</summary>
public sealed record ErrorResponse(ErrorBody Error)
{
    public static ErrorResponse From(ApiError error) =>
        new(new ErrorBody(error.Code, error.Message, error.Details ?? new Dictionary<string, string>()));
}

public sealed record ErrorBody(string Code, string Message, IReadOnlyDictionary<string, string> Details);
