using System.Net;
using System.Security.Cryptography;
using System.Text;
using Im.Actors;
using Im.Contracts;
using Im.Host.Api;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Net.Http.Headers;

namespace Im.Host.Config;

/// <summary>
/// Who may read <c>/metrics</c> and <c>/api/ops/*</c>: <see cref="Access.MayOperate"/> applied as an
/// authorization policy. Those endpoints sit outside the <c>/api</c> group's policy on purpose: in
/// Jwt mode that policy refuses any bearer that is not a JWT, and <c>Ops__Token</c> is not one.
/// ASP.NET then answers a refusal as the rule means it: 401 when the request proved no identity,
/// 403 when it named a caller who is not an operator.
/// </summary>
public static class OpsAuthorization
{
    public const string Policy = "im-ops";

    public static void AddOpsAuthorization(this WebApplicationBuilder builder, OpsOptions ops)
    {
        builder.Services.AddSingleton(ops);
        builder.Services.AddSingleton<IAuthorizationHandler, Handler>();
        builder.Services.AddAuthorization(options => options.AddPolicy(Policy, policy => policy.AddRequirements(Rule.Instance)));
    }

    public static bool IsOpsPolicy(AuthorizationPolicy policy) => policy.Requirements.Any(r => r is Rule);

    /// <summary>The 401 of these endpoints: it names what they take, which is not what the rest of <c>/api</c> takes.</summary>
    public static Task Challenge(HttpContext context)
    {
        var ops = context.RequestServices.GetRequiredService<OpsOptions>();
        var jwt = context.RequestServices.GetRequiredService<AuthOptions>().UsesJwt;
        context.Response.Headers.WWWAuthenticate = "Bearer";
        var message = (string.IsNullOrEmpty(ops.Token), jwt) switch
        {
            (false, true) => "Authorization: Bearer with Ops__Token or an admin's token is required",
            (false, false) => "Authorization: Bearer with Ops__Token is required",
            (true, true) => "callers from other machines need an admin's token (or set Ops__Token)",
            (true, false) => "only loopback callers are served while Ops__Token is unset",
        };
        return ApiResults.Error(ErrorCodes.Unauthorized, message).ExecuteAsync(context);
    }

    public sealed class Rule : IAuthorizationRequirement
    {
        public static readonly Rule Instance = new();
    }

    private sealed class Handler(OpsOptions ops, AuthOptions auth) : AuthorizationHandler<Rule>
    {
        // Hashed once, so comparing a presented token takes the same time whatever it shares with this one.
        private readonly byte[]? _tokenHash = string.IsNullOrEmpty(ops.Token) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(ops.Token));

        protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, Rule requirement)
        {
            if (context.Resource is not HttpContext http) return Task.CompletedTask;
            var authenticated = context.User.Identity?.IsAuthenticated == true;
            var decision = Access.MayOperate(
                opsTokenSet: _tokenHash is not null,
                presentsOpsToken: PresentsToken(http.Request),
                isAdmin: auth.UsesJwt && authenticated && Identity.IsAdmin(context.User),
                isLoopback: IsLoopback(http.Connection.RemoteIpAddress),
                isAuthenticated: authenticated);
            if (decision == OpsAccess.Allowed) context.Succeed(requirement);
            else context.Fail(new AuthorizationFailureReason(this, decision.ToString()));
            return Task.CompletedTask;
        }

        private bool PresentsToken(HttpRequest request)
        {
            if (_tokenHash is null) return false;
            var header = request.Headers[HeaderNames.Authorization].ToString();
            const string scheme = "Bearer ";
            if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return false;
            var presented = SHA256.HashData(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()));
            return CryptographicOperations.FixedTimeEquals(presented, _tokenHash);
        }

        // The TCP peer, not X-Forwarded-For: a header is what a remote caller would forge. Behind a
        // proxy on the same machine every caller is loopback, so such a deployment sets Ops__Token.
        private static bool IsLoopback(IPAddress? address) =>
            address is not null && IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
    }
}
