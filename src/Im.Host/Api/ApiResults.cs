using Im.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Im.Host.Api;

/// <summary>The one place where business codes become HTTP status codes.</summary>
public static class ApiResults
{
    public static int StatusFor(string code) => code switch
    {
        ErrorCodes.UserNotFound or ErrorCodes.NotMember or ErrorCodes.GroupNotFound
            or ErrorCodes.MessageNotFound or ErrorCodes.MediaNotFound or ErrorCodes.RecordNotFound
            or ErrorCodes.NotFound => StatusCodes.Status404NotFound,
        ErrorCodes.Unauthorized => StatusCodes.Status401Unauthorized,
        ErrorCodes.Forbidden => StatusCodes.Status403Forbidden,
        ErrorCodes.MethodNotAllowed => StatusCodes.Status405MethodNotAllowed,
        ErrorCodes.IdempotencyConflict or ErrorCodes.InvalidState => StatusCodes.Status409Conflict,
        ErrorCodes.PayloadTooLarge => StatusCodes.Status413PayloadTooLarge,
        ErrorCodes.UnsupportedMediaType => StatusCodes.Status415UnsupportedMediaType,
        ErrorCodes.RateLimited => StatusCodes.Status429TooManyRequests,
        ErrorCodes.ServiceUnavailable => StatusCodes.Status503ServiceUnavailable,
        ErrorCodes.InternalError => StatusCodes.Status500InternalServerError,
        _ => StatusCodes.Status400BadRequest,
    };

    public static ApiErrorResult Error(ApiError error) => new(error);

    public static ApiErrorResult Error(string code, string message) => Error(new ApiError(code, message));

    public static Results<Ok<T>, ApiErrorResult> From<T>(Outcome<T> outcome) where T : class =>
        outcome.Error is { } error ? Error(error) : TypedResults.Ok(outcome.Value!);

    public static readonly ApiError Unavailable = new(ErrorCodes.ServiceUnavailable, "the service is not ready or did not answer in time, try again");
}
