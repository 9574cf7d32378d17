using System.Reflection;
using Im.Actors.Ai;
using Im.Contracts;
using Im.Host.Config;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Im.Host.Api;

/// <summary><c>GET /api/info</c>: open to anyone, so a client can tell how to log in before it has a token.</summary>
public static class InfoApi
{
    private static readonly string Version =
        typeof(InfoApi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public static void MapInfoApi(this IEndpointRouteBuilder api) =>
        api.MapGet("/info", Get).AllowAnonymous().WithTags("Info")
            .WithName("GetInfo").WithSummary("How to log in (auth_mode), before having a token");

    // ai_stream: whether AI replies arrive as ai_delta pieces (Ai__Stream) before the finished ai_reply.
    private static Ok<InfoResponse> Get(AuthOptions auth, AiSettings ai) => TypedResults.Ok(new InfoResponse(
        auth.AuthMode.ToString().ToLowerInvariant(), Version, AiStream: ai.Stream));
}
