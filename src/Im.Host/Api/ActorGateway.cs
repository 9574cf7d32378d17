using Akka.Actor;
using Akka.Hosting;
using Im.Actors;
using Im.Actors.Groups;
using Im.Actors.Media;
using Im.Actors.Queries;
using Im.Contracts;
using Im.Host.Config;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Im.Host.Api;

/// <summary>
/// Asks the right actor with the configured timeout and maps its outcome; an actor that does not
/// answer is a 503. The reply type comes from the message itself (<see cref="IRepliedWith{T}"/>).
/// </summary>
public sealed class ActorGateway(
    IRequiredActor<GroupRegion> groups,
    IRequiredActor<UserRegion> users,
    IRequiredActor<QueryActor> queries,
    IRequiredActor<MediaActor> media,
    ImOptions options,
    ImMetrics metrics,
    ILogger<ActorGateway> logger)
{
    public async Task<Results<Ok<T>, ApiErrorResult>> AskGroup<T>(IRepliedWith<T> command, CancellationToken cancellation) where T : class =>
        ApiResults.From(await Ask(groups.ActorRef, command, cancellation));

    /// <summary>For commands whose reply carries more than the response body (a send's <c>Replayed</c>).</summary>
    public async Task<Results<Ok<TResponse>, ApiErrorResult>> AskGroup<T, TResponse>(IRepliedWith<T> command, Func<T, TResponse> toResponse,
        CancellationToken cancellation) where T : class
    {
        var outcome = await Ask(groups.ActorRef, command, cancellation);
        return outcome.Error is { } error ? ApiResults.Error(error) : TypedResults.Ok(toResponse(outcome.Value!));
    }

    /// <summary>A stop or a retry: to the writer of the record's group (404 <c>RECORD_NOT_FOUND</c> when there is no such record).</summary>
    public async Task<Results<Ok<T>, ApiErrorResult>> AskRecordWriter<T>(string recordId,
        Func<string, IRepliedWith<T>> command, CancellationToken cancellation) where T : class =>
        ApiResults.From(await Ask(queries.ActorRef, new Queries.ToRecordWriter<T>(recordId, command), cancellation));

    public async Task<Results<Ok<T>, ApiErrorResult>> AskUser<T>(IRepliedWith<T> command, CancellationToken cancellation) where T : class =>
        ApiResults.From(await Ask(users.ActorRef, command, cancellation));

    public async Task<Results<Ok<T>, ApiErrorResult>> Query<T>(IRepliedWith<T> query, CancellationToken cancellation) where T : class =>
        ApiResults.From(await Ask(query, cancellation));

    /// <summary>An image upload or read: its outcome itself, since the bytes are not JSON.</summary>
    public Task<Outcome<T>> AskMedia<T>(IRepliedWith<T> command, CancellationToken cancellation) where T : class =>
        Ask(media.ActorRef, command, cancellation);

    /// <summary>A query's outcome itself, for the host's own questions (who a token's subject is).</summary>
    public Task<Outcome<T>> Ask<T>(IRepliedWith<T> query, CancellationToken cancellation) where T : class =>
        Ask(queries.ActorRef, query, cancellation);

    private async Task<Outcome<T>> Ask<T>(IActorRef target, IRepliedWith<T> message, CancellationToken cancellation) where T : class
    {
        try
        {
            return await target.Ask<Outcome<T>>(message, options.AskTimeout, cancellation);
        }
        catch (AskTimeoutException)
        {
            return TimedOut(message.GetType().Name);
        }
    }

    private ApiError TimedOut(string what)
    {
        metrics.AskTimedOut();
        logger.LogWarning("{Message} got no answer within {Timeout}", what, options.AskTimeout);
        return ApiResults.Unavailable;
    }
}
