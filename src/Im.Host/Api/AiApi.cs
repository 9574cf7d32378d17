using Im.Actors.Groups;
using Im.Actors.Queries;
using Im.Contracts;
using Im.Host.Config;
using Im.Host.OpenApi;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Im.Host.Api;

/// <summary>Spec 3.1: AI interaction records; and stopping or retrying an AI reply (DESIGN.md, "AI care").</summary>
public static class AiApi
{
    public static void MapAiApi(this IEndpointRouteBuilder api)
    {
        api.MapGet("/ai/interactions", List).WithTags("AI")
            .WithName("ListAiInteractions").WithSummary("A page of a group's AI interaction records, newest first")
            .WithQuery(QueryParameter.GroupId, QueryParameter.Page, QueryParameter.PageSize)
            .ProducesErrors(ErrorCodes.GroupIdEmpty, ErrorCodes.InvalidParameter, ErrorCodes.GroupNotFound, ErrorCodes.Forbidden);
        // No body: nothing to read, so no Content-Type is needed.
        api.MapPost("/ai/interactions/{record_id}/stop", Stop).WithTags("AI").RequireAuthorization(Identity.CallerPolicy)
            .WithName("StopAiReply")
            .WithSummary("Stop an AI reply being written (the patient who asked, a DOCTOR member or an admin): nothing is stored, the record closes with 4004")
            .ProducesErrors(ErrorCodes.InvalidParameter, ErrorCodes.RecordNotFound, ErrorCodes.Forbidden, ErrorCodes.InvalidState);
        api.MapPost("/ai/interactions/{record_id}/retry", Retry).WithTags("AI").RequireAuthorization(Identity.CallerPolicy)
            .WithName("RetryAiReply")
            .WithSummary("Ask the AI again for a failed or stopped record (a DOCTOR member or an admin): the same record and context, attempts + 1")
            .ProducesErrors(ErrorCodes.InvalidParameter, ErrorCodes.RecordNotFound, ErrorCodes.Forbidden, ErrorCodes.InvalidState);
    }

    private static async Task<Results<Ok<AiInteractionResponse>, ApiErrorResult>> Stop(string record_id, HttpContext context, ActorGateway actors,
        CancellationToken cancellation) =>
        RequestReader.CheckId("record_id", record_id) is { } invalid
            ? ApiResults.Error(invalid)
            : await actors.AskRecordWriter(record_id, groupId => new GroupCommands.StopAiReply(groupId, record_id, context.CallerOf()), cancellation);

    private static async Task<Results<Ok<AiInteractionResponse>, ApiErrorResult>> Retry(string record_id, HttpContext context, ActorGateway actors,
        CancellationToken cancellation) =>
        RequestReader.CheckId("record_id", record_id) is { } invalid
            ? ApiResults.Error(invalid)
            : await actors.AskRecordWriter(record_id, groupId => new GroupCommands.RetryAiReply(groupId, record_id, context.CallerOf()), cancellation);

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
