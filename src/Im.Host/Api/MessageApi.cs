using Im.Actors.Groups;
using Im.Actors.Queries;
using Im.Contracts;
using Im.Host.Config;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Im.Host.Api;

/// <summary>Spec 2.3: messages.</summary>
public static class MessageApi
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    public static void MapMessageApi(this IEndpointRouteBuilder api)
    {
        var messages = api.MapGroup("/message");
        messages.MapPost("/send", Send).RequireAuthorization(Identity.CallerPolicy).CountsAgainstSendRate();
        messages.MapGet("/list", List);
        messages.MapGet("/{message_id}", Get);
    }

    private static Task<Results<Ok<MessageResponse>, ApiErrorResult>> Send(HttpContext context, ActorGateway actors, CancellationToken cancellation) =>
        JsonBody.Handle(context.Request,
            body => RequestReader.SendMessage(body,
                context.Request.Headers.TryGetValue(IdempotencyKeyHeader, out var key) ? key.ToString() : null),
            body => actors.AskGroup(
                new GroupCommands.SendMessage(body.GroupId, context.CallerOf().UserId!, body.Content, body.ClientMsgId, body.MsgType),
                sent => sent.Message, cancellation),
            cancellation);

    private static async Task<Results<Ok<MessageListResponse>, ApiErrorResult>> List(HttpContext context, ActorGateway actors, CancellationToken cancellation)
    {
        var query = context.Request.Query;
        var page = RequestReader.GroupPage(query["group_id"], query["page"], query["page_size"], query["after_seq"]);
        return page.Error is { } invalid
            ? ApiResults.Error(invalid)
            : await actors.Query(new Queries.ListMessages(page.Value!.GroupId, page.Value.Page, page.Value.AfterSeq, context.CallerOf()),
                cancellation);
    }

    private static async Task<Results<Ok<MessageResponse>, ApiErrorResult>> Get(string message_id, HttpContext context, ActorGateway actors, CancellationToken cancellation) =>
        RequestReader.CheckId("message_id", message_id) is { } invalid
            ? ApiResults.Error(invalid)
            : await actors.Query(new Queries.GetMessage(message_id, context.CallerOf()), cancellation);
}
