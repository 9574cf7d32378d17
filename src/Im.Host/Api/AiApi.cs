using Im.Actors.Queries;
using Im.Contracts;

namespace Im.Host.Api;

/// <summary>Spec 3.1: AI interaction records.</summary>
public static class AiApi
{
    public static void MapAiApi(this IEndpointRouteBuilder app) => app.MapGet("/api/ai/interactions", List);

    private static async Task<IResult> List(HttpRequest request, ActorGateway actors, CancellationToken cancellation)
    {
        var query = RequestReader.GroupPage(request.Query["group_id"], request.Query["page"], request.Query["page_size"]);
        return query.Error is { } invalid
            ? ApiResults.Error(invalid)
            : await actors.Query<AiInteractionListResponse>(new Queries.ListAiInteractions(query.Value!.GroupId, query.Value.Page), cancellation);
    }
}
