using Im.Contracts;

namespace Im.Host.Api;

/// <summary>
/// The spec's error body as a typed result: <c>{"error":{"code","message","details"}}</c> with the
/// status <see cref="ApiResults.StatusFor"/> gives its code. Handlers declare it in their
/// <c>Results&lt;Ok&lt;T&gt;, ApiErrorResult&gt;</c>; which codes an endpoint can answer is declared beside
/// its mapping with <see cref="ErrorDeclarations.ProducesErrors{TBuilder}"/>, because a code is a value,
/// not a type.
/// </summary>
public sealed class ApiErrorResult(ApiError error) : IResult, IStatusCodeHttpResult, IValueHttpResult<ErrorResponse>, IValueHttpResult,
    IContentTypeHttpResult
{
    public ApiError Error { get; } = error;

    public int StatusCode => ApiResults.StatusFor(Error.Code);

    int? IStatusCodeHttpResult.StatusCode => StatusCode;

    public ErrorResponse Value => ErrorResponse.From(Error);

    object? IValueHttpResult.Value => Value;

    public string ContentType => "application/json; charset=utf-8";

    // Written with the host's one JSON setup (ConfigureHttpJsonOptions), like every other body.
    public Task ExecuteAsync(HttpContext httpContext) => TypedResults.Json(Value, statusCode: StatusCode).ExecuteAsync(httpContext);
}
