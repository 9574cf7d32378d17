using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using Im.Actors;
using Im.Actors.Queries;
using Im.Contracts;
using Im.Host.Api;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Im.Host.Config;

/// <summary>
/// Who calls, as one ASP.NET authentication scheme per mode: <c>Header</c> (development: the
/// <c>X-User-Id</c> header) or <c>Bearer</c> (an HS256 JWT; WebSocket clients pass it as
/// <c>?access_token=</c>). Two authorization policies say who gets in at all; what a caller may do
/// to a group or a user is decided by <see cref="Access"/> in the actor that holds the facts.
/// No handler reads the identity by hand: they take <see cref="CallerOf"/>.
/// </summary>
public static class Identity
{
    public const string HeaderScheme = "Header";
    public const string UserIdHeader = "X-User-Id";
    public const string AdminScope = "im:admin";
    public const string SubjectClaim = "sub";

    /// <summary>
    /// On <c>/api</c> and <c>/ws</c>. Jwt mode: a valid token whose subject is a user, or an admin's.
    /// Header mode: open, as in v0.2.
    /// </summary>
    public const string ApiPolicy = "im-api";

    /// <summary>On the endpoints that act as someone (create a group, send, remove a member): a caller in both modes.</summary>
    public const string CallerPolicy = "im-caller";

    public static void AddImIdentity(this WebApplicationBuilder builder, AuthOptions auth)
    {
        var authentication = builder.Services.AddAuthentication(auth.UsesJwt ? JwtBearerDefaults.AuthenticationScheme : HeaderScheme);
        if (auth.UsesJwt)
            authentication.AddJwtBearer(options => ConfigureJwt(options, auth));
        else
            authentication.AddScheme<AuthenticationSchemeOptions, HeaderAuthenticationHandler>(HeaderScheme, null);

        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(ApiPolicy, policy =>
            {
                if (auth.UsesJwt) policy.RequireAuthenticatedUser().AddRequirements(KnownCaller.Requirement);
                else policy.RequireAssertion(_ => true);
            })
            .AddPolicy(CallerPolicy, policy =>
            {
                policy.RequireAuthenticatedUser();
                if (auth.UsesJwt) policy.AddRequirements(KnownCaller.Requirement);
            });
        builder.Services.AddSingleton<KnownCaller>();
        builder.Services.AddSingleton<IAuthorizationHandler>(sp => sp.GetRequiredService<KnownCaller>());
        builder.Services.AddSingleton<IAuthorizationMiddlewareResultHandler, AuthorizationAnswers>();
    }

    /// <summary>The authenticated caller of this request, as the actors see it.</summary>
    public static Caller CallerOf(this HttpContext context)
    {
        var subject = context.User.FindFirst(SubjectClaim)?.Value;
        return context.RequestServices.GetRequiredService<AuthOptions>().UsesJwt
            ? Caller.FromToken(subject ?? "", IsAdmin(context.User))
            : Caller.FromHeader(subject);
    }

    /// <summary>When the caller's token expires (Jwt mode), for closing a socket then.</summary>
    public static DateTimeOffset? TokenExpiry(this HttpContext context) =>
        long.TryParse(context.User.FindFirst("exp")?.Value, out var seconds) ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null;

    // "scope" is a space-separated string (RFC 8693); some issuers send it as an array, one claim each.
    public static bool IsAdmin(ClaimsPrincipal user) =>
        user.FindAll("scope").Any(scope => scope.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(AdminScope));

    private static void ConfigureJwt(JwtBearerOptions options, AuthOptions auth)
    {
        var key = Encoding.UTF8.GetBytes(auth.JwtKey ?? "");
        if (key.Length < 32)
            throw new InvalidOperationException("Auth__Mode=Jwt needs Auth__JwtKey of at least 32 bytes.");
        options.MapInboundClaims = false;
        options.TokenValidationParameters = new TokenValidationParameters
        {
            ValidateIssuer = !string.IsNullOrEmpty(auth.Issuer),
            ValidIssuer = auth.Issuer,
            ValidateAudience = !string.IsNullOrEmpty(auth.Audience),
            ValidAudience = auth.Audience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ClockSkew = TimeSpan.FromSeconds(30),
            IssuerSigningKey = new SymmetricSecurityKey(key),
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            NameClaimType = SubjectClaim,
        };
        options.Events = new JwtBearerEvents
        {
            // Browsers cannot set headers on a WebSocket handshake, so the token comes in the query.
            // ASP.NET's request lines print whole URLs, so LogHygiene keeps them out of the log.
            OnMessageReceived = context =>
            {
                if (context.Request.Path.StartsWithSegments("/ws") && context.Request.Query["access_token"] is { Count: > 0 } token)
                    context.Token = token;
                return Task.CompletedTask;
            },
            OnChallenge = async context =>
            {
                context.HandleResponse();
                var expired = context.AuthenticateFailure is SecurityTokenExpiredException;
                context.Response.Headers.WWWAuthenticate = context.AuthenticateFailure is null ? "Bearer" : "Bearer error=\"invalid_token\"";
                await ApiResults.Error(ErrorCodes.Unauthorized, expired
                        ? "the bearer token has expired"
                        : "a valid bearer token is required (Authorization: Bearer, or ?access_token= on /ws)")
                    .ExecuteAsync(context.HttpContext);
            },
        };
    }
}

/// <summary>Header mode: the caller is whoever <c>X-User-Id</c> names; no header, no caller (v0.2 reads need none).</summary>
public sealed class HeaderAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(Identity.UserIdHeader, out var values)) return Task.FromResult(AuthenticateResult.NoResult());
        var userId = values.ToString();
        if (RequestReader.CheckId(Identity.UserIdHeader, userId) is { } invalid)
            return Task.FromResult(AuthenticateResult.Fail(invalid.Message));
        var identity = new ClaimsIdentity([new Claim(Identity.SubjectClaim, userId)], Identity.HeaderScheme, Identity.SubjectClaim, null);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Identity.HeaderScheme)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        await ApiResults.Error(ErrorCodes.Unauthorized, result.Failure?.Message ?? $"the {Identity.UserIdHeader} header is required")
            .ExecuteAsync(Context);
    }
}

/// <summary>
/// Jwt mode: a token's subject must be a user (an admin's need not be). Asked of the QueryActor, not
/// the store, and remembered once known: users are never deleted, so a known subject stays known.
/// </summary>
public sealed class KnownCaller(ActorGateway actors) : AuthorizationHandler<KnownCaller.Rule>, IDisposable
{
    public static readonly Rule Requirement = new();

    private readonly MemoryCache _known = new(new MemoryCacheOptions { SizeLimit = 100_000 });

    protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, Rule requirement)
    {
        if (context.User.Identity?.IsAuthenticated != true) return;
        if (Identity.IsAdmin(context.User))
        {
            context.Succeed(requirement);
            return;
        }
        var subject = context.User.FindFirst(Identity.SubjectClaim)?.Value;
        if (string.IsNullOrEmpty(subject) || RequestReader.CheckId("sub", subject) is not null)
        {
            context.Fail(new AuthorizationFailureReason(this, UnknownSubject));
            return;
        }
        if (_known.TryGetValue(subject, out _))
        {
            context.Succeed(requirement);
            return;
        }
        var found = await actors.Ask(new Queries.FindTokenSubject(subject), CancellationToken.None);
        switch (found.Error?.Code)
        {
            case null:
                _known.Set(subject, true, new MemoryCacheEntryOptions { Size = 1, SlidingExpiration = TimeSpan.FromMinutes(30) });
                context.Succeed(requirement);
                break;
            case ErrorCodes.UserNotFound:
                context.Fail(new AuthorizationFailureReason(this, UnknownSubject));
                break;
            default:
                context.Fail(new AuthorizationFailureReason(this, Unavailable));
                break;
        }
    }

    public const string UnknownSubject = "the token's subject is not a user";
    public const string Unavailable = "the store could not be asked who the token's subject is";

    public void Dispose() => _known.Dispose();

    public sealed class Rule : IAuthorizationRequirement;
}

/// <summary>How a refused request is answered: always the spec's error body, with the status the refusal means.</summary>
public sealed class AuthorizationAnswers : IAuthorizationMiddlewareResultHandler
{
    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult result)
    {
        if (result.Succeeded)
        {
            await next(context);
            return;
        }
        if (result.Challenged)
        {
            // The scheme writes the 401: it knows whether a token was missing, bad or expired. The ops
            // endpoints take other credentials than the scheme asks for, so they say which themselves.
            if (OpsAuthorization.IsOpsPolicy(policy)) await OpsAuthorization.Challenge(context);
            else await context.ChallengeAsync();
            return;
        }
        var reasons = result.AuthorizationFailure?.FailureReasons.Select(r => r.Message).ToList() ?? [];
        if (reasons.Contains(KnownCaller.Unavailable))
        {
            context.Response.Headers.RetryAfter = "1";
            await ApiResults.Error(ApiResults.Unavailable).ExecuteAsync(context);
        }
        else if (reasons.Contains(KnownCaller.UnknownSubject))
        {
            await ApiResults.Error(ErrorCodes.Unauthorized, KnownCaller.UnknownSubject).ExecuteAsync(context);
        }
        else
        {
            await ApiResults.Error(Errors.Forbidden).ExecuteAsync(context);
        }
    }
}
