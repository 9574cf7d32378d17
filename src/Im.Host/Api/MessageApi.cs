using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Im.Actors.Groups;
using Im.Actors.Queries;
using Im.Contracts;
using Im.Host.Config;
using Im.Host.OpenApi;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Im.Host.Api;

/// <summary>Spec 2.3: messages.</summary>
public static class MessageApi
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    public static void MapMessageApi(this IEndpointRouteBuilder api)
    {
        var messages = api.MapGroup("/message").WithTags("Messages");
        messages.MapPost("/send", Send).RequireAuthorization(Identity.CallerPolicy).CountsAgainstSendRate()
            .WithName("SendMessage").WithSummary("Send a message as the caller; a PATIENT member's message is also answered by the AI")
            .WithDescription("The AI's reply is not in this answer: it is stored as a message and pushed as an `ai_reply` frame. "
                + "The same sender, group and `client_msg_id` within 24 h gives back the message first stored.")
            .AcceptsJson<SendMessageRequest>()
            .ProducesErrors(ErrorCodes.ContentEmpty, ErrorCodes.ContentTooLong, ErrorCodes.GroupIdEmpty,
                ErrorCodes.GroupNotFound, ErrorCodes.UserNotFound, ErrorCodes.NotMember, ErrorCodes.IdempotencyConflict)
            .WithExample(ApiExamples.SendRequest, ApiExamples.SendResponse);
        messages.MapGet("/list", List)
            .WithName("ListMessages").WithSummary("A page of a group's messages, newest first (with after_seq: oldest first)")
            .WithQuery(QueryParameter.GroupId, QueryParameter.Page, QueryParameter.PageSize, QueryParameter.AfterSeq)
            .ProducesErrors(ErrorCodes.GroupIdEmpty, ErrorCodes.InvalidParameter, ErrorCodes.GroupNotFound, ErrorCodes.Forbidden)
            .WithExample(null, ApiExamples.ListResponse);
        messages.MapGet("/{message_id}", Get)
            .WithName("GetMessage").WithSummary("Get one message")
            .ProducesErrors(ErrorCodes.InvalidParameter, ErrorCodes.MessageNotFound, ErrorCodes.Forbidden);
    }

    private static Task<Results<Ok<MessageResponse>, ApiErrorResult>> Send(HttpContext context, ActorGateway actors,
        [FromHeader(Name = IdempotencyKeyHeader), StringLength(Limits.ClientMsgIdMax, MinimumLength = 1),
         Description("A synonym of the body's client_msg_id; the two differing is a 400.")] string? idempotencyKey,
        CancellationToken cancellation) =>
        JsonBody.Handle(context.Request,
            body => RequestReader.SendMessage(body, idempotencyKey),
            body => actors.AskGroup(
                new GroupCommands.SendMessage(body.GroupId, context.CallerOf().UserId!, body.Content, body.ClientMsgId, body.MsgType),
                sent => sent.Message, cancellation),
            cancellation);

    // The query is bound as plain strings, so RequestReader's rules read it: ASCII digits only, 1003 for a missing group.
    private static async Task<Results<Ok<MessageListResponse>, ApiErrorResult>> List(string? group_id, string? page, string? page_size,
        string? after_seq, HttpContext context, ActorGateway actors, CancellationToken cancellation)
    {
        var request = RequestReader.GroupPage(group_id, page, page_size, after_seq);
        return request.Error is { } invalid
            ? ApiResults.Error(invalid)
            : await actors.Query(new Queries.ListMessages(request.Value!.GroupId, request.Value.Page, request.Value.AfterSeq, context.CallerOf()),
                cancellation);
    }

    private static async Task<Results<Ok<MessageResponse>, ApiErrorResult>> Get(string message_id, HttpContext context, ActorGateway actors, CancellationToken cancellation) =>
        RequestReader.CheckId("message_id", message_id) is { } invalid
            ? ApiResults.Error(invalid)
            : await actors.Query(new Queries.GetMessage(message_id, context.CallerOf()), cancellation);
}
