using Im.Actors.Queries;
using Im.Contracts;
using Im.Host.Config;
using Im.Host.OpenApi;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Im.Host.Api;

/// <summary>Spec 3.1: AI interaction records.</summary>
public static class AiApi
{
    public static void MapAiApi(this IEndpointRouteBuilder api) =>
        api.MapGet("/ai/interactions", List).WithTags("AI")
            .WithName("ListAiInteractions").WithSummary("A page of a group's AI interaction records, newest first")
            .WithQuery(QueryParameter.GroupId, QueryParameter.Page, QueryParameter.PageSize)
            .ProducesErrors(ErrorCodes.GroupIdEmpty, ErrorCodes.InvalidParameter, ErrorCodes.GroupNotFound, ErrorCodes.Forbidden);

    // The query is bound as plain strings, so RequestReader's rules read it: ASCII digits only, 1003 for a missing group.
    private static async Task<Results<Ok<AiInteractionListResponse>, ApiErrorResult>> List(string? group_id, string? page, string? page_size,
        HttpContext context, ActorGateway actors, CancellationToken cancellation)
    {
        var request = RequestReader.GroupPage(group_id, page, page_size);
        return request.Error is { } invalid
            ? ApiResults.Error(invalid)
            : await actors.Query(new Queries.ListAiInteractions(request.Value!.GroupId, request.Value.Page, context.CallerOf()), cancellation);
    }
}
