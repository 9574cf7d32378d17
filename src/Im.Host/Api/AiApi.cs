using Im.Actors.Queries;
using Im.Contracts;
using Im.Host.Config;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Im.Host.Api;

/// <summary>Spec 3.1: AI interaction records.</summary>
public static class AiApi
{
    public static void MapAiApi(this IEndpointRouteBuilder api) => api.MapGet("/ai/interactions", List);

    private static async Task<Results<Ok<AiInteractionListResponse>, ApiErrorResult>> List(HttpContext context, ActorGateway actors, CancellationToken cancellation)
    {
        var query = context.Request.Query;
        var page = RequestReader.GroupPage(query["group_id"], query["page"], query["page_size"]);
        return page.Error is { } invalid
            ? ApiResults.Error(invalid)
            : await actors.Query(new Queries.ListAiInteractions(page.Value!.GroupId, page.Value.Page, context.CallerOf()), cancellation);
    }
}
