using Akka.Actor;
using Akka.Hosting;
using Im.Actors;
using Im.Actors.Queries;
using Im.Host.Config;

namespace Im.Host.Api;

/// <summary>Asks an actor with the configured timeout and maps its outcome; an actor that does not answer is a 503.</summary>
public sealed class ActorGateway(
    IRequiredActor<GroupRegion> groups,
    IRequiredActor<UserRegion> users,
    IRequiredActor<QueryActor> queries,
    ImOptions options,
    ILogger<ActorGateway> logger)
{
    public Task<IResult> AskGroup<T>(object command, CancellationToken cancellation) where T : class =>
        Ask<T>(groups.ActorRef, command, cancellation);

    public Task<IResult> AskUser<T>(object command, CancellationToken cancellation) where T : class =>
        Ask<T>(users.ActorRef, command, cancellation);

    public Task<IResult> Query<T>(object query, CancellationToken cancellation) where T : class =>
        Ask<T>(queries.ActorRef, query, cancellation);

    private async Task<IResult> Ask<T>(IActorRef target, object message, CancellationToken cancellation) where T : class
    {
        try
        {
            return ApiResults.From(await target.Ask<Outcome<T>>(message, options.AskTimeout, cancellation));
        }
        catch (AskTimeoutException)
        {
            logger.LogWarning("{Message} got no answer within {Timeout}", message.GetType().Name, options.AskTimeout);
            return ApiResults.Error(ApiResults.Unavailable);
        }
    }
}
