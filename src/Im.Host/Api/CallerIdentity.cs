using Im.Contracts;
using Im.Host.Config;

namespace Im.Host.Api;

/// <summary>Who is calling: the <c>X-User-Id</c> header, or the <c>sub</c> of a verified JWT.</summary>
public static class CallerIdentity
{
    public const string Header = "X-User-Id";

    public static string? Of(HttpContext context)
    {
        var auth = context.RequestServices.GetRequiredService<AuthOptions>();
        var caller = auth.UsesJwt
            ? context.User.FindFirst("sub")?.Value
            : context.Request.Headers[Header].ToString();
        return string.IsNullOrWhiteSpace(caller) ? null : caller;
    }

    public static IResult Missing(HttpContext context) =>
        ApiResults.Error(ErrorCodes.Unauthorized, context.RequestServices.GetRequiredService<AuthOptions>().UsesJwt
            ? "a valid bearer token is required"
            : $"the {Header} header is required");
}
