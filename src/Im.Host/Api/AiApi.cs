using Im.Actors.Queries;
using Im.Contracts;

namespace Im.Host.Api;

/// <summary>Spec 3.1: AI interaction records.</summary>
public static class AiApi
{
    public static void MapAiApi(this IEndpointRouteBuilder app) => app.MapGet("/api/ai/interactions", List);

    private static async Task<IResult> List(HttpRequest request, ActorGateway actors, CancellationToken cancellation)
    {
        var query = request.Query;
        var groupId = query["group_id"].ToString();
        if (RequestReader.CheckGroupIdQuery(groupId) is { } invalid) return ApiResults.Error(invalid);
        var paging = RequestReader.Paging(query["page"].FirstOrDefault(), query["page_size"].FirstOrDefault());
        if (paging.Error is { } badPage) return ApiResults.Error(badPage);
        return await actors.Query<AiInteractionListResponse>(new Queries.ListAiInteractions(groupId, paging.Value!), cancellation);
    }
}
