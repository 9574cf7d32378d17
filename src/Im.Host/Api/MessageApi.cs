using Im.Actors.Groups;
using Im.Actors.Queries;
using Im.Contracts;

namespace Im.Host.Api;

/// <summary>Spec 2.3: messages.</summary>
public static class MessageApi
{
    public static void MapMessageApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/message");
        api.MapPost("/send", Send);
        api.MapGet("/list", List);
        api.MapGet("/{message_id}", Get);
    }

    private static async Task<IResult> Send(HttpContext context, ActorGateway actors, CancellationToken cancellation)
    {
        if (CallerIdentity.Of(context) is not { } sender) return CallerIdentity.Missing(context);
        return await JsonBody.Handle(context.Request, RequestReader.SendMessage,
            body => actors.AskGroup<MessageResponse>(new GroupCommands.SendMessage(body.GroupId, sender, body.Content, null), cancellation),
            cancellation);
    }

    private static async Task<IResult> List(HttpRequest request, ActorGateway actors, CancellationToken cancellation)
    {
        var query = RequestReader.GroupPage(request.Query["group_id"], request.Query["page"], request.Query["page_size"],
            request.Query["after_seq"]);
        return query.Error is { } invalid
            ? ApiResults.Error(invalid)
            : await actors.Query<MessageListResponse>(new Queries.ListMessages(query.Value!.GroupId, query.Value.Page, query.Value.AfterSeq),
                cancellation);
    }

    private static async Task<IResult> Get(string message_id, ActorGateway actors, CancellationToken cancellation) =>
        RequestReader.CheckId("message_id", message_id) is { } invalid
            ? ApiResults.Error(invalid)
            : await actors.Query<MessageResponse>(new Queries.GetMessage(message_id), cancellation);
}
