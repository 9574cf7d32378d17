using Im.Host.Config;
using Microsoft.OpenApi;

namespace Im.Host.OpenApi;

/// <summary>
/// The two ways a caller is named, as security schemes, and which an operation takes. One document
/// serves both modes: Header mode (development) believes <c>X-User-Id</c>; Jwt mode wants a bearer token.
/// </summary>
public static class SecurityRequirements
{
    public const string UserIdHeader = "UserIdHeader";
    public const string Bearer = "Bearer";
    public const string OpsToken = "OpsToken";

    public static void AddSchemes(OpenApiDocument document)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[UserIdHeader] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = Identity.UserIdHeader,
            Description = "Auth__Mode=Header (the default, for development): the caller's user id, believed as it is. "
                + "Needed only where an operation acts as someone (create a group, send, upload, remove a member); "
                + "a missing or invalid one there is 401.",
        };
        document.Components.SecuritySchemes[Bearer] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "JWT",
            Description = "Auth__Mode=Jwt: an HS256 token whose sub is a user id, or whose scope holds im:admin. "
                + "Required on every /api/* operation but GET /api/info, and on /ws (there also as ?access_token=).",
        };
        document.Components.SecuritySchemes[OpsToken] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "The operations view (/api/ops/*, /metrics): Ops__Token as a bearer token, or in Jwt mode an admin's JWT. "
                + "With Ops__Token unset, loopback callers need none.",
        };
    }

    /// <summary>The operations view: the ops token (or an admin JWT), or nothing from loopback when no token is set.</summary>
    public static List<OpenApiSecurityRequirement> ForOps(OpenApiDocument document) =>
        [new() { [new OpenApiSecuritySchemeReference(OpsToken, document)] = [] }, new OpenApiSecurityRequirement()];

    /// <param name="callerRequired">
    /// The operation acts as someone in both modes. Otherwise Header mode needs no caller (v0.2's open reads),
    /// which the empty requirement says; Jwt mode still needs a token.
    /// </param>
    public static List<OpenApiSecurityRequirement> For(OpenApiDocument document, bool callerRequired)
    {
        List<OpenApiSecurityRequirement> requirements =
        [
            new() { [new OpenApiSecuritySchemeReference(UserIdHeader, document)] = [] },
            new() { [new OpenApiSecuritySchemeReference(Bearer, document)] = [] },
        ];
        if (!callerRequired) requirements.Add(new OpenApiSecurityRequirement());
        return requirements;
    }
}
