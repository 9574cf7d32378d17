using Akka.Actor;
using Akka.Event;
using Im.Actors.Groups;
using Im.Actors.Storage;
using Im.Contracts;

namespace Im.Actors.Sessions;

/// <summary>The socket side of a session, implemented by the host over a real WebSocket.</summary>
public interface ISessionOutput
{
    /// <summary>Queues a text frame; false when the bounded outbound queue is full.</summary>
    bool TryEnqueue(string frame);

    /// <summary>Closes the socket after what is queued; safe to call more than once.</summary>
    void Close(int closeStatus, string reason);
}

public static class SessionProtocol
{
    /// <summary>A frame from the client; <paramref name="Text"/> is null for a binary frame.</summary>
    public sealed record Inbound(string? Text) : ILocalOnly
    {
        public override string ToString() => $"Inbound {{ Text = {Redact.Text(Text)} }}";
    }

    /// <summary>The socket has closed: the session ends.</summary>
    public sealed record SocketClosed : ILocalOnly
    {
        public static readonly SocketClosed Instance = new();
    }
}

/// <param name="AskTimeout">How long a send may wait for its group's answer before the client is told to retry.</param>
/// <param name="Metrics">Where the node counts pushes and asks that timed out.</param>
/// <param name="ExpiresAt">When the connection's token expires (Jwt mode): the socket is closed 1008 then.</param>
/// <param name="Caller">Who the connection acts as, for the checks of <see cref="Access"/>; the socket's user in Header mode.</param>
public sealed record SessionSettings(TimeSpan AskTimeout, ImMetrics Metrics, DateTimeOffset? ExpiresAt = null, Caller? Caller = null);

/// <summary>
/// One per WebSocket connection, a child of the node's <see cref="SessionsActor"/>. Checks the user,
/// registers with its parent and says <c>connected</c> once the parent reads every channel the user
/// needs, turns inbound frames into group commands and writes pushes to the bounded outbound
/// queue. A client too slow to drain that queue is disconnected rather than allowed to grow memory.
/// Every bad frame gets an <c>error</c> frame, echoing the frame's <c>client_msg_id</c>; nothing a
/// client sends makes the actor throw (a restart would say <c>connected</c> twice).
/// </summary>
/// <remarks>
/// A node holds one of these per socket, most of them idle, so it is built to weigh little: one
/// receive over a <see cref="Phase"/> instead of <c>Become</c> (Akka's cell keeps a behaviour stack
/// and watch tables once an actor becomes a second behaviour) and instead of typed handlers (a set
/// of delegates per instance), and the small <see cref="SessionMailbox"/>. The stash holds what the
/// client sends before <c>connected</c>.
/// </remarks>
public sealed class SessionActor : UntypedActor, IWithStash, IWithTimers
{
    public const int PolicyViolation = 1008;
    public const int TryAgainLater = 1013;
    public const int GoingAway = 1001;

    private readonly string _userId;
    private readonly ISessionOutput _output;
    private readonly ImStore _store;
    private readonly IActorRef _groups;
    private readonly IActorRef _queries;
    private readonly IActorRef _sessions;
    private readonly SendRateLimiter _sendRate;
    private readonly SessionSettings _settings;
    private Phase _phase = Phase.CheckingUser;

    public IStash Stash { get; set; } = null!;
    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="queries">The node's <see cref="Queries.QueryActor"/>, which takes a stop to its record's writer.</param>
    /// <param name="sessions">The node's <see cref="SessionsActor"/>, which registers it for its user's pushes.</param>
    public SessionActor(string userId, ISessionOutput output, ImStore store, IActorRef groups, IActorRef queries, IActorRef sessions,
        SendRateLimiter sendRate, SessionSettings settings)
    {
        _userId = userId;
        _output = output;
        _store = store;
        _groups = groups;
        _queries = queries;
        _sessions = sessions;
        _sendRate = sendRate;
        _settings = settings;
    }

    public static Props Props(string userId, ISessionOutput output, ImStore store, IActorRef groups, IActorRef queries, IActorRef sessions,
        SendRateLimiter sendRate, SessionSettings settings) =>
        Akka.Actor.Props.Create(() => new SessionActor(userId, output, store, groups, queries, sessions, sendRate, settings))
            .WithMailbox(SessionMailbox.Id);

    private enum Phase
    {
        /// <summary>The store says whether the user exists.</summary>
        CheckingUser,

        /// <summary>The parent subscribes to the user's channels.</summary>
        Registering,

        /// <summary><c>connected</c> went out: pushes and the client's frames flow.</summary>
        Connected,
    }

    protected override void PreStart()
    {
        _store.UserExists(_userId).PipeTo(Self, success: exists => new UserChecked(exists));
        if (_settings.ExpiresAt is { } expiresAt)
            Timers.StartSingleTimer(nameof(TokenExpired), new TokenExpired(), Max(expiresAt - DateTimeOffset.UtcNow, TimeSpan.Zero));
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case SessionProtocol.SocketClosed:
                Context.Stop(Self);
                return;
            case TokenExpired:
                Expire();
                return;
        }
        switch (_phase)
        {
            case Phase.CheckingUser:
                CheckingUser(message);
                break;
            case Phase.Registering:
                Registering(message);
                break;
            default:
                Connected(message);
                break;
        }
    }

    private void CheckingUser(object message)
    {
        switch (message)
        {
            case UserChecked { Exists: false }:
                End(new ErrorFrame(ErrorCodes.UserNotFound, "user not found"), PolicyViolation, "user not found");
                break;
            case UserChecked:
                // "connected" goes out only once the node reads the user's channels, so a client that sees it misses no push after it.
                _sessions.Tell(new SessionsProtocol.Register(_userId, Self));
                Timers.StartSingleTimer(nameof(RegistrationTimedOut), new RegistrationTimedOut(), _settings.AskTimeout);
                _phase = Phase.Registering;
                break;
            case Status.Failure failure:
                Log.Warning(failure.Cause, "Could not check the user of a new connection");
                End(new ErrorFrame(ErrorCodes.ServiceUnavailable, "the store is unavailable, reconnect later"), TryAgainLater, "store unavailable");
                break;
            default:
                Stash.Stash();
                break;
        }
    }

    private void Registering(object message)
    {
        switch (message)
        {
            case SessionsProtocol.Registered:
                Timers.Cancel(nameof(RegistrationTimedOut));
                Send(new ConnectedFrame(_userId));
                _phase = Phase.Connected;
                Stash.UnstashAll();
                break;
            case RegistrationTimedOut:
                Log.Warning("A session of {0} could not be registered for its pushes in time; closing it", _userId);
                End(new ErrorFrame(ErrorCodes.ServiceUnavailable, "the server cannot deliver pushes right now, reconnect later"), TryAgainLater,
                    "pushes unavailable");
                break;
            default:
                Stash.Stash();
                break;
        }
    }

    // Whatever stops it (the socket closed, the node shutting down, a failure its parent stops it for), the socket is
    // closed, and the first reason given stays; otherwise the client is told to go away and reconnect.
    protected override void PostStop() => _output.Close(GoingAway, "session ended, reconnect");

    private void Connected(object message)
    {
        switch (message)
        {
            case SessionsProtocol.Push push:
                if (Enqueue(push.Frame)) _settings.Metrics.PushDelivered();
                break;
            case SessionProtocol.Inbound inbound:
                HandleInbound(inbound.Text);
                break;
            case SendAnswered answer:
                Answered(answer);
                break;
            case StopAnswered { Error: { } error } answer:
                Send(new ErrorFrame(error.Code, error.Message, answer.ClientMsgId));
                break;
            case StopAnswered:
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void Expire() =>
        End(new ErrorFrame(ErrorCodes.Unauthorized, "the token has expired; reconnect with a new one"), PolicyViolation, "token expired");

    /// <summary>Tells the client why in an <c>error</c> frame, closes the socket with that code, and ends the session.</summary>
    private void End(ErrorFrame error, int closeStatus, string reason)
    {
        Send(error);
        _output.Close(closeStatus, reason);
        Context.Stop(Self);
    }

    private void HandleInbound(string? text)
    {
        switch (ClientFrame.Read(text))
        {
            case ClientFrame.Ping:
                Send(new PongFrame());
                break;
            case ClientFrame.SendMessage send:
                SendMessage(send);
                break;
            case ClientFrame.AiStop stop:
                StopAiReply(stop);
                break;
            case ClientFrame.Refused refused:
                Send(new ErrorFrame(refused.Error.Code, refused.Error.Message, refused.ClientMsgId));
                break;
        }
    }

    // The same order as REST: the rate limit before the frame's fields, then the group's own checks.
    private void SendMessage(ClientFrame.SendMessage send)
    {
        if (_sendRate.TryAcquire(_userId) is { } retryAfter)
        {
            Send(new ErrorFrame(ErrorCodes.RateLimited, "too many messages; wait before sending again", send.ClientMsgId,
                SendRateLimiter.Seconds(retryAfter)));
            return;
        }
        if (send.Parsed.Error is { } invalid)
        {
            Send(new ErrorFrame(invalid.Code, invalid.Message, send.ClientMsgId));
            return;
        }
        var request = send.Parsed.Value!;
        _groups.Ask<Outcome<SentMessage>>(
                new GroupCommands.SendMessage(request.GroupId, _userId, request.Content, request.ClientMsgId, request.MsgType), _settings.AskTimeout)
            .PipeTo(Self,
                success: outcome => new SendAnswered(request.ClientMsgId, outcome),
                failure: ex =>
                {
                    if (ex is AskTimeoutException) _settings.Metrics.AskTimedOut();
                    return new SendAnswered(request.ClientMsgId, Outcome<SentMessage>.Fail(ErrorCodes.ServiceUnavailable,
                        "the message was not confirmed in time; send it again with the same client_msg_id, or check the history"));
                });
    }

    // A stop is acknowledged by the record's ai_state "stopped" push; only a refusal is answered here.
    private void StopAiReply(ClientFrame.AiStop stop)
    {
        var clientMsgId = stop.ClientMsgId;
        if (stop.Parsed.Error is { } invalid)
        {
            Send(new ErrorFrame(invalid.Code, invalid.Message, clientMsgId));
            return;
        }
        var recordId = stop.Parsed.Value!.RecordId;
        var caller = _settings.Caller ?? Caller.FromHeader(_userId);
        _queries.Ask<Outcome<AiInteractionResponse>>(new Queries.Queries.ToRecordWriter<AiInteractionResponse>(recordId,
                groupId => new GroupCommands.StopAiReply(groupId, recordId, caller)), _settings.AskTimeout)
            .PipeTo(Self,
                success: outcome => new StopAnswered(clientMsgId, outcome.Error),
                failure: ex =>
                {
                    if (ex is not AskTimeoutException) return new StopAnswered(clientMsgId, Errors.For(ex));
                    _settings.Metrics.AskTimedOut();
                    return new StopAnswered(clientMsgId, new ApiError(ErrorCodes.ServiceUnavailable, "the stop was not confirmed in time; try again"));
                });
    }

    // A stored message is acknowledged by its message_sent push through the fan-out. A repeat of an
    // earlier client_msg_id stored nothing and pushed nothing, so this connection alone is told.
    private void Answered(SendAnswered answer)
    {
        if (answer.Outcome.Error is { } error)
            Send(new ErrorFrame(error.Code, error.Message, answer.ClientMsgId));
        else if (answer.Outcome.Value is { Replayed: true } replayed)
            Send(MessageSentFrame.From(replayed.Message, answer.ClientMsgId));
    }

    private void Send<T>(T frame) => Enqueue(ImJson.Serialize(frame));

    /// <summary>Queues the frame, or disconnects a client too slow to drain its queue; false then.</summary>
    private bool Enqueue(string frame)
    {
        if (_output.TryEnqueue(frame)) return true;
        Log.Warning("Disconnecting a session of {0}: its outbound queue is full", _userId);
        _output.Close(TryAgainLater, "outbound queue full");
        Context.Stop(Self);
        return false;
    }

    // Made when needed, not held: an idle session would keep one more object for warnings it rarely logs.
    private static ILoggingAdapter Log => Context.GetLogger();

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private sealed record UserChecked(bool Exists) : ILocalOnly;

    private sealed record SendAnswered(string? ClientMsgId, Outcome<SentMessage> Outcome) : ILocalOnly;

    private sealed record StopAnswered(string? ClientMsgId, ApiError? Error) : ILocalOnly;

    private sealed record TokenExpired : ILocalOnly;

    private sealed record RegistrationTimedOut : ILocalOnly;
}
