using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Im.Actors.Fanout;
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
    public sealed record Inbound(string? Text) : ILocalOnly;
}

public sealed record SessionSettings(TimeSpan AskTimeout);

/// <summary>
/// One per WebSocket connection. Checks the user, says <c>connected</c>, registers with the node's
/// fan-out, turns inbound frames into group commands and writes pushes to the bounded outbound
/// queue. A client too slow to drain that queue is disconnected rather than allowed to grow memory.
/// </summary>
public sealed class SessionActor : ReceiveActor, IWithStash
{
    public const int PolicyViolation = 1008;
    public const int TryAgainLater = 1013;

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly string _userId;
    private readonly ISessionOutput _output;
    private readonly ImStore _store;
    private readonly IActorRef _groups;
    private readonly IActorRef _fanout;
    private readonly SessionSettings _settings;

    public IStash Stash { get; set; } = null!;

    public SessionActor(string userId, ISessionOutput output, ImStore store, IActorRef groups, IActorRef fanout, SessionSettings settings)
    {
        _userId = userId;
        _output = output;
        _store = store;
        _groups = groups;
        _fanout = fanout;
        _settings = settings;
        Receive<UserChecked>(Checked);
        Receive<Status.Failure>(f =>
        {
            _log.Warning(f.Cause, "Could not check the user of a new connection");
            Send(new ErrorFrame(ErrorCodes.ServiceUnavailable, "the store is unavailable, reconnect later"));
            _output.Close(TryAgainLater, "store unavailable");
            Context.Stop(Self);
        });
        ReceiveAny(_ => Stash.Stash());
    }

    public static Props Props(string userId, ISessionOutput output, ImStore store, IActorRef groups, IActorRef fanout, SessionSettings settings) =>
        Akka.Actor.Props.Create(() => new SessionActor(userId, output, store, groups, fanout, settings));

    protected override void PreStart() =>
        _store.UserExists(_userId).PipeTo(Self, success: exists => new UserChecked(exists));

    private void Checked(UserChecked check)
    {
        if (!check.Exists)
        {
            Send(new ErrorFrame(ErrorCodes.UserNotFound, "user not found"));
            _output.Close(PolicyViolation, "user not found");
            Context.Stop(Self);
            return;
        }
        // Registered before "connected" goes out, so a client that sees it misses no push after it.
        _fanout.Tell(new FanoutProtocol.Register(_userId, Self));
        Send(new ConnectedFrame(_userId));
        Become(Connected);
        Stash.UnstashAll();
    }

    private void Connected()
    {
        Receive<FanoutProtocol.Push>(push => Enqueue(push.Frame));
        Receive<SessionProtocol.Inbound>(inbound => HandleInbound(inbound.Text));
        Receive<Outcome<MessageResponse>>(outcome =>
        {
            if (outcome.Error is { } error) Send(new ErrorFrame(error.Code, error.Message));
        });
        Receive<Status.Failure>(_ => Send(new ErrorFrame(ErrorCodes.ServiceUnavailable, "the message was not confirmed in time; check the history before resending")));
    }

    private void HandleInbound(string? text)
    {
        if (text is null)
        {
            Send(new ErrorFrame(ErrorCodes.InvalidFrame, "binary frames are not supported; send JSON text"));
            return;
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException)
        {
            Send(new ErrorFrame(ErrorCodes.InvalidFrame, "the frame is not valid JSON"));
            return;
        }
        using (document)
        {
            var frame = document.RootElement;
            if (frame.ValueKind != JsonValueKind.Object || !frame.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                Send(new ErrorFrame(ErrorCodes.InvalidFrame, "a frame is a JSON object with a string \"type\""));
                return;
            }
            switch (type.GetString())
            {
                case FrameTypes.Ping:
                    Send(new PongFrame());
                    break;
                case FrameTypes.SendMessage:
                    var parsed = RequestReader.SendMessageFrame(frame);
                    if (parsed.Error is { } error)
                    {
                        Send(new ErrorFrame(error.Code, error.Message));
                        break;
                    }
                    var request = parsed.Value!;
                    _groups.Ask<Outcome<MessageResponse>>(
                            new GroupCommands.SendMessage(request.GroupId, _userId, request.Content, request.ClientMsgId), _settings.AskTimeout)
                        .PipeTo(Self);
                    break;
                default:
                    Send(new ErrorFrame(ErrorCodes.UnknownType, "unknown frame type"));
                    break;
            }
        }
    }

    private void Send<T>(T frame) => Enqueue(ImJson.Serialize(frame));

    private void Enqueue(string frame)
    {
        if (_output.TryEnqueue(frame)) return;
        _log.Warning("Disconnecting a session of {0}: its outbound queue is full", _userId);
        _output.Close(TryAgainLater, "outbound queue full");
        Context.Stop(Self);
    }

    private sealed record UserChecked(bool Exists) : ILocalOnly;
}
