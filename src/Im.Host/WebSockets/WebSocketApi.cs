using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using Akka.Actor;
using Akka.Hosting;
using Im.Actors;
using Im.Actors.Sessions;
using Im.Actors.Storage;
using Im.Contracts;
using Im.Host.Api;
using Im.Host.Config;
using Im.Host.OpenApi;
using Microsoft.OpenApi;

namespace Im.Host.WebSockets;

/// <summary>Spec section 4: <c>ws://host/ws/{user_id}</c>.</summary>
public static class WebSocketApi
{
    // Every method reaches the handler, so a request that is no upgrade gets the spec's 400 (not a 405);
    // the document describes the handshake, a GET.
    public static void MapWebSocketApi(this IEndpointRouteBuilder ws) =>
        ws.Map("/{user_id}", Connect)
            .ProducesErrors(ErrorCodes.InvalidParameter, ErrorCodes.Forbidden)
            .DescribedAs(HttpMethod.Get, "WebSocket", Describe);

    private static void Describe(OpenApiOperation operation)
    {
        operation.OperationId = "ConnectWebSocket";
        operation.Summary = "Open the user's WebSocket: pushes of every group the user is in, and sends";
        operation.Description = $"""
            A WebSocket handshake (`Upgrade: websocket`). Frames are JSON text: the client sends
            `{WebSocketFrames.ClientFrame}` frames (`send_message`, `ping`), the server pushes `{WebSocketFrames.ServerFrame}`
            frames (`connected`, `message_sent`, `ai_reply`, `pong`, `error`); see those schemas in the components.
            A bad frame gets an `error` frame and the connection stays open. Close codes: 1001 the node is shutting down,
            1007 not UTF-8, 1008 after an `error` frame (unknown user `2001`, `TOO_MANY_CONNECTIONS`, token expired),
            1009 a frame over 64 KiB, 1013 the client did not drain its pushes.
            """;
        operation.Parameters ??= [];
        operation.Parameters.Add(new OpenApiParameter
        {
            Name = "access_token",
            In = ParameterLocation.Query,
            Description = "Jwt mode: the bearer token, for clients (browsers) that cannot set headers on a handshake.",
            Schema = new OpenApiSchema { Type = JsonSchemaType.String },
        });
        operation.Responses ??= [];
        operation.Responses["101"] = new OpenApiResponse
        {
            Description = $"Switching Protocols: the socket is open; the first frame is `connected`. Frames: #/components/schemas/{WebSocketFrames.ClientFrame} "
                + $"and #/components/schemas/{WebSocketFrames.ServerFrame}.",
        };
    }

    private static async Task<IResult> Connect(string user_id, HttpContext context, SessionStarter sessions)
    {
        if (RequestReader.CheckId("user_id", user_id) is { } invalid) return ApiResults.Error(invalid);
        if (!context.WebSockets.IsWebSocketRequest)
            return ApiResults.Error(ApiError.Invalid("upgrade", "this endpoint takes a WebSocket upgrade"));
        if (!context.CallerOf().MayOpenSocketOf(user_id))
            return ApiResults.Error(ErrorCodes.Forbidden, "a token opens its own user's socket only");

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        // In Header mode the handshake names nobody: the socket's user is the caller of what it sends.
        await sessions.Run(user_id, socket, context.CallerOf() with { UserId = user_id }, context.TokenExpiry(), context.RequestAborted);
        return Results.Empty;
    }
}

/// <summary>Runs one connection: its SessionActor, the outbound pump and the inbound loop.</summary>
public sealed class SessionStarter(
    IRequiredActor<SessionsActor> sessions,
    ConnectionLimiter connections,
    ImOptions options,
    ImMetrics metrics,
    IHostApplicationLifetime lifetime,
    ILogger<SessionStarter> logger)
{
    private const int MaxFrameBytes = 64 * 1024;
    private const int ReadBufferBytes = 8 * 1024;
    private static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(5);

    public async Task Run(string userId, WebSocket socket, Caller caller, DateTimeOffset? tokenExpiry, CancellationToken aborted)
    {
        using var open = metrics.WebSocketOpened();
        using var output = new WebSocketSessionOutput(socket, options.SessionQueueCapacity, CloseGrace);
        var pump = output.Pump();
        if (!connections.TryOpen(userId))
        {
            output.TryEnqueue(ImJson.Serialize(new ErrorFrame(ErrorCodes.TooManyConnections,
                $"at most {options.MaxConnectionsPerUser} connections per user on this server")));
            output.Close(SessionActor.PolicyViolation, "too many connections");
            await Drain(socket, output, pump, aborted);
            return;
        }
        IActorRef session;
        try
        {
            session = await sessions.ActorRef.Ask<IActorRef>(new SessionsProtocol.StartSession(userId, output,
                new SessionSettings(options.AskTimeout, metrics, tokenExpiry, caller)), options.AskTimeout, aborted);
        }
        catch (Exception ex) when (ex is AskTimeoutException or OperationCanceledException)
        {
            connections.Close(userId);
            output.TryEnqueue(ImJson.Serialize(new ErrorFrame(ErrorCodes.ServiceUnavailable, "the server is busy, reconnect later")));
            output.Close(SessionActor.TryAgainLater, "server busy");
            await Drain(socket, output, pump, aborted);
            return;
        }
        // A node that is shutting down says so, so clients reconnect to another node at once
        // instead of waiting for the host's shutdown timeout to cut them off.
        using var goingAway = lifetime.ApplicationStopping.Register(() =>
            output.Close((int)WebSocketCloseStatus.EndpointUnavailable, "server shutting down, reconnect"));
        try
        {
            // No cancellation token: an idle read would hold a registration. A socket the server closes is
            // aborted after the close grace (see WebSocketSessionOutput), and a client that goes away fails the read.
            await Receive(socket, session, output);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The client went away, sent what is not a WebSocket message (invalid UTF-8 is closed 1007
            // by the socket itself), or the server closed the session; either way the session ends.
        }
        finally
        {
            // The close the client gets is decided here, before the session's end closes the socket too.
            output.Close((int)WebSocketCloseStatus.NormalClosure, "bye");
            session.Tell(SessionProtocol.SocketClosed.Instance);
            connections.Close(userId);
            await Drain(socket, output, pump, aborted);
        }
    }

    // Says goodbye properly: what is queued and the close frame go out, within the grace period.
    private async Task Drain(WebSocket socket, WebSocketSessionOutput output, Task pump, CancellationToken aborted)
    {
        output.Close((int)WebSocketCloseStatus.NormalClosure, "bye");
        using var grace = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        grace.CancelAfter(CloseGrace);
        try
        {
            await pump;
            // Wait for the client's answering close frame: closing the TCP connection with its
            // unread data would reset it, and the client would see 1006 instead of our code.
            await Receive(socket, ActorRefs.Nobody, output);
            // A socket that failed the connection itself (invalid UTF-8: 1007) reads no more, so wait
            // for the client to hang up instead: the server still takes in what it sends meanwhile.
            if (socket.State == WebSocketState.Aborted) await Task.Delay(Timeout.InfiniteTimeSpan, grace.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            logger.LogDebug("A session's close ended with {Error}", ex.GetType().Name);
        }
    }

    /// <summary>
    /// Reads frames until the client's close. After a frame over the limit the server closes with
    /// 1009 and reads on only to discard, so the client still gets a real close frame. An idle socket
    /// holds no buffer: it waits with a zero-byte read and rents one only once data has come (as
    /// Kestrel's transport and SignalR do); a zero-byte read can itself take in a whole empty message.
    /// </summary>
    private static async Task Receive(WebSocket socket, IActorRef session, WebSocketSessionOutput output)
    {
        MemoryStream? message = null;
        var discarding = session.IsNobody();
        while (socket.State is WebSocketState.Open or WebSocketState.CloseSent)
        {
            var waited = await socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None);
            if (waited.MessageType == WebSocketMessageType.Close) return;
            var (type, ended) = (waited.MessageType, waited.EndOfMessage);
            if (!ended)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(ReadBufferBytes);
                try
                {
                    var result = await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                    if (result.MessageType == WebSocketMessageType.Close) return;
                    (type, ended) = (result.MessageType, result.EndOfMessage);
                    if (!discarding) (message ??= new MemoryStream()).Write(buffer, 0, result.Count);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
            if (discarding) continue;
            if (message?.Length > MaxFrameBytes)
            {
                output.Close((int)WebSocketCloseStatus.MessageTooBig, $"frames are limited to {MaxFrameBytes} bytes");
                discarding = true;
                message = null;
                continue;
            }
            if (!ended) continue;
            session.Tell(new SessionProtocol.Inbound(type == WebSocketMessageType.Text
                ? message is null ? "" : Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length)
                : null));
            // Nothing is kept between messages: a socket that once sent a large frame does not hold its buffer.
            message = null;
        }
    }
}
