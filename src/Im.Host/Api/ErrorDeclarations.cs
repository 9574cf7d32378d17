using Im.Contracts;

namespace Im.Host.Api;

/// <summary>Business codes an endpoint can answer with, beside its success; one endpoint may carry several.</summary>
public sealed record ErrorCodesMetadata(IReadOnlyList<string> Codes);

/// <summary>
/// Where each endpoint declares its refusals, next to its mapping. The OpenAPI document turns the
/// codes into one response per status (<see cref="ApiResults.StatusFor"/>, the one mapping) with
/// the codes as an enum, and the OpenAPI specs fail on a live code an operation did not declare.
/// </summary>
public static class ErrorDeclarations
{
    public static TBuilder ProducesErrors<TBuilder>(this TBuilder builder, params string[] codes) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ErrorCodesMetadata(codes));

    /// <summary>
    /// A JSON body read by <see cref="JsonBody"/>: its schema, and what JsonBody itself refuses (a body
    /// that is not <c>application/json</c>, not JSON, too large, not an object, a field that does not fit).
    /// </summary>
    /// <param name="optional">The body may be left out altogether (no <c>Content-Type</c> either).</param>
    public static RouteHandlerBuilder AcceptsJson<TRequest>(this RouteHandlerBuilder builder, bool optional = false) where TRequest : notnull =>
        builder.Accepts<TRequest>(optional, "application/json").ProducesErrors(ErrorCodes.UnsupportedMediaType, ErrorCodes.InvalidParameter);
}
