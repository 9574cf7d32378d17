using Im.Actors;
using Im.Actors.Groups;
using Im.Actors.Queries;
using Im.Contracts;
using Im.Host.Config;

namespace Im.Host.Api;

/// <summary>Spec 2.3: messages.</summary>
public static class MessageApi
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    public static void MapMessageApi(this IEndpointRouteBuilder api)
    {
        var messages = api.MapGroup("/message");
        messages.MapPost("/send", Send).RequireAuthorization(Identity.CallerPolicy).AddEndpointFilter(LimitSendRate);
        messages.MapGet("/list", List);
        messages.MapGet("/{message_id}", Get);
    }

    private static Task<IResult> Send(HttpContext context, ActorGateway actors, CancellationToken cancellation) =>
        JsonBody.Handle(context.Request,
            body => RequestReader.SendMessage(body,
                context.Request.Headers.TryGetValue(IdempotencyKeyHeader, out var key) ? key.ToString() : null),
            body => actors.AskGroup(new GroupCommands.SendMessage(body.GroupId, context.CallerOf().UserId!, body.Content, body.ClientMsgId),
                sent => sent.Message, cancellation),
            cancellation);

    /// <summary>The user's send budget is taken before the body is read: a flood costs the server no parsing.</summary>
    private static async ValueTask<object?> LimitSendRate(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        if (context.CallerOf().UserId is { } sender
            && context.RequestServices.GetRequiredService<SendRateLimiter>().TryAcquire(sender) is { } retryAfter)
        {
            var seconds = SendRateLimiter.Seconds(retryAfter);
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return ApiResults.Error(ErrorCodes.RateLimited, $"too many messages; retry after {seconds} s");
        }
        return await next(invocation);
    }

    private static async Task<IResult> List(HttpContext context, ActorGateway actors, CancellationToken cancellation)
    {
        var query = context.Request.Query;
        var page = RequestReader.GroupPage(query["group_id"], query["page"], query["page_size"], query["after_seq"]);
        return page.Error is { } invalid
            ? ApiResults.Error(invalid)
            : await actors.Query(new Queries.ListMessages(page.Value!.GroupId, page.Value.Page, page.Value.AfterSeq, context.CallerOf()),
                cancellation);
    }

    private static async Task<IResult> Get(string message_id, HttpContext context, ActorGateway actors, CancellationToken cancellation) =>
        RequestReader.CheckId("message_id", message_id) is { } invalid
            ? ApiResults.Error(invalid)
            : await actors.Query(new Queries.GetMessage(message_id, context.CallerOf()), cancellation);
}
