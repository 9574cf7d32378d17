using Im.Actors;
using Im.Actors.Groups;
using Im.Actors.Queries;
using Im.Contracts;
using Im.Host.Config;
using Im.Host.OpenApi;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Im.Host.Api;

/// <summary>Spec 3.1: AI interaction records; stopping or retrying an AI reply, and reviewing drafts (DESIGN.md, "AI care").</summary>
public static class AiApi
{
    public static void MapAiApi(this IEndpointRouteBuilder api)
    {
        api.MapGet("/ai/interactions", List).WithTags("AI")
            .WithName("ListAiInteractions").WithSummary("A page of a group's AI interaction records, newest first")
            .WithQuery(QueryParameter.GroupId, QueryParameter.Page, QueryParameter.PageSize, QueryParameter.ReviewState)
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
        api.MapGet("/ai/interactions/{record_id}/draft", Draft).WithTags("AI").RequireAuthorization(Identity.CallerPolicy)
            .WithName("GetAiDraft").WithSummary("A draft waiting for review (a DOCTOR member or an admin; never a patient)")
            .ProducesErrors(ErrorCodes.InvalidParameter, ErrorCodes.RecordNotFound, ErrorCodes.Forbidden, ErrorCodes.InvalidState);
        // The body is optional: none approves the draft as it is.
        api.MapPost("/ai/interactions/{record_id}/approve", Approve).WithTags("AI").RequireAuthorization(Identity.CallerPolicy)
            .WithName("ApproveAiDraft")
            .WithSummary("Send a draft, or a doctor's edit of it, as the AI reply (a DOCTOR member or an admin): every member gets it")
            .AcceptsJson<ApproveDraftRequest>(optional: true)
            .ProducesErrors(ErrorCodes.InvalidParameter, ErrorCodes.ContentEmpty, ErrorCodes.ContentTooLong, ErrorCodes.RecordNotFound,
                ErrorCodes.Forbidden, ErrorCodes.InvalidState);
        api.MapPost("/ai/interactions/{record_id}/reject", Reject).WithTags("AI").RequireAuthorization(Identity.CallerPolicy)
            .WithName("RejectAiDraft")
            .WithSummary("Reject a draft (a DOCTOR member or an admin): nothing reaches the patient, the record closes with 4005")
            .ProducesErrors(ErrorCodes.InvalidParameter, ErrorCodes.RecordNotFound, ErrorCodes.Forbidden, ErrorCodes.InvalidState);
    }

    private static Task<Results<Ok<AiDraftResponse>, ApiErrorResult>> Draft(string record_id, HttpContext context, ActorGateway actors,
        CancellationToken cancellation) =>
        ToRecordWriter(record_id, actors, groupId => new GroupCommands.GetDraft(groupId, record_id, context.CallerOf()), cancellation);

    private static async Task<Results<Ok<MessageResponse>, ApiErrorResult>> Approve(string record_id, HttpContext context, ActorGateway actors,
        CancellationToken cancellation)
    {
        Task<Results<Ok<MessageResponse>, ApiErrorResult>> Ask(ApproveDraftRequest body) =>
            ToRecordWriter(record_id, actors, groupId => new GroupCommands.ApproveDraft(groupId, record_id, body.Content, context.CallerOf()),
                cancellation);
        if (RequestReader.CheckId("record_id", record_id) is { } invalid) return ApiResults.Error(invalid);
        return context.Request.ContentLength is 0 || (context.Request.ContentLength is null && string.IsNullOrEmpty(context.Request.ContentType))
            ? await Ask(new ApproveDraftRequest())
            : await JsonBody.Handle(context.Request, RequestReader.ApproveDraft, Ask, cancellation);
    }

    private static Task<Results<Ok<AiInteractionResponse>, ApiErrorResult>> Reject(string record_id, HttpContext context, ActorGateway actors,
        CancellationToken cancellation) =>
        ToRecordWriter(record_id, actors, groupId => new GroupCommands.RejectDraft(groupId, record_id, context.CallerOf()), cancellation);

    private static Task<Results<Ok<AiInteractionResponse>, ApiErrorResult>> Stop(string record_id, HttpContext context, ActorGateway actors,
        CancellationToken cancellation) =>
        ToRecordWriter(record_id, actors, groupId => new GroupCommands.StopAiReply(groupId, record_id, context.CallerOf()), cancellation);

    private static Task<Results<Ok<AiInteractionResponse>, ApiErrorResult>> Retry(string record_id, HttpContext context, ActorGateway actors,
        CancellationToken cancellation) =>
        ToRecordWriter(record_id, actors, groupId => new GroupCommands.RetryAiReply(groupId, record_id, context.CallerOf()), cancellation);

    /// <summary>A command about one record, for its group's writer; a bad id is 400 before anything is read.</summary>
    private static async Task<Results<Ok<T>, ApiErrorResult>> ToRecordWriter<T>(string recordId, ActorGateway actors,
        Func<string, IRepliedWith<T>> command, CancellationToken cancellation) where T : class =>
        RequestReader.CheckId("record_id", recordId) is { } invalid
            ? ApiResults.Error(invalid)
            : await actors.AskRecordWriter(recordId, command, cancellation);

    // The query is bound as plain strings, so RequestReader's rules read it: ASCII digits only, 1003 for a missing group.
    private static async Task<Results<Ok<AiInteractionListResponse>, ApiErrorResult>> List(string? group_id, string? page, string? page_size,
        string? review_state, HttpContext context, ActorGateway actors, CancellationToken cancellation)
    {
        var request = RequestReader.GroupPage(group_id, page, page_size);
        if ((request.Error ?? RequestReader.CheckReviewStateQuery(review_state)) is { } invalid) return ApiResults.Error(invalid);
        return await actors.Query(new Queries.ListAiInteractions(request.Value!.GroupId, request.Value.Page, context.CallerOf(),
            PendingDraftsOnly: review_state == ReviewStates.Pending), cancellation);
    }
}
