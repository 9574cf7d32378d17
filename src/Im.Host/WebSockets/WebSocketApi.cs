using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using Akka.Actor;
using Akka.Hosting;
using Im.Actors;
using Im.Actors.Fanout;
using Im.Actors.Sessions;
using Im.Actors.Storage;
using Im.Contracts;
using Im.Host.Api;
using Im.Host.Config;

namespace Im.Host.WebSockets;

/// <summary>Spec section 4: <c>ws://host/ws/{user_id}</c>.</summary>
public static class WebSocketApi
{
    public static void MapWebSocketApi(this IEndpointRouteBuilder app) => app.Map("/ws/{user_id}", Connect);

    private static async Task<IResult> Connect(string user_id, HttpContext context, SessionStarter sessions)
    {
        if (RequestReader.CheckId("user_id", user_id) is { } invalid) return ApiResults.Error(invalid);
        if (!context.WebSockets.IsWebSocketRequest)
            return ApiResults.Error(ApiError.Invalid("upgrade", "this endpoint takes a WebSocket upgrade"));
        if (context.RequestServices.GetRequiredService<AuthOptions>().UsesJwt && CallerIdentity.Of(context) != user_id)
            return CallerIdentity.Missing(context);

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        await sessions.Run(user_id, socket, context.RequestAborted);
        return Results.Empty;
    }
}

/// <summary>Runs one connection: its SessionActor, the outbound pump and the inbound loop.</summary>
public sealed class SessionStarter(
    ActorSystem system,
    ImStore store,
    IRequiredActor<GroupRegion> groups,
    IRequiredActor<FanoutActor> fanout,
    ImOptions options,
    IHostApplicationLifetime lifetime,
    ILogger<SessionStarter> logger)
{
    private const int MaxFrameBytes = 64 * 1024;
    private static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(5);

    public async Task Run(string userId, WebSocket socket, CancellationToken aborted)
    {
        var output = new WebSocketSessionOutput(options.SessionQueueCapacity);
        var session = system.ActorOf(SessionActor.Props(userId, output, store, groups.ActorRef, fanout.ActorRef,
            new SessionSettings(options.AskTimeout)));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        // A node that is shutting down says so, so clients reconnect to another node at once
        // instead of waiting for the host's shutdown timeout to cut them off.
        using var goingAway = lifetime.ApplicationStopping.Register(() =>
            output.Close((int)WebSocketCloseStatus.EndpointUnavailable, "server shutting down, reconnect"));
        var pump = PumpThenStopReading(output, socket, stop);
        try
        {
            await Receive(socket, session, output, stop.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The client went away or the server closed the session; either way the session ends.
        }
        finally
        {
            session.Tell(PoisonPill.Instance);
            output.Close((int)WebSocketCloseStatus.NormalClosure, "bye");
            await stop.CancelAsync();
            try
            {
                await pump;
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
                logger.LogDebug("Pump of a session ended with {Error}", ex.GetType().Name);
            }
        }
    }

    // Once the server has said close, the client gets a few seconds to answer before the read gives up.
    private static async Task PumpThenStopReading(WebSocketSessionOutput output, WebSocket socket, CancellationTokenSource stop)
    {
        await output.Pump(socket, stop.Token);
        stop.CancelAfter(CloseGrace);
    }

    private static async Task Receive(WebSocket socket, IActorRef session, WebSocketSessionOutput output, CancellationToken cancellation)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(8 * 1024);
        var message = new MemoryStream();
        try
        {
            while (socket.State is WebSocketState.Open or WebSocketState.CloseSent)
            {
                var result = await socket.ReceiveAsync(buffer, cancellation);
                if (result.MessageType == WebSocketMessageType.Close) return;
                message.Write(buffer, 0, result.Count);
                if (message.Length > MaxFrameBytes)
                {
                    output.Close((int)WebSocketCloseStatus.MessageTooBig, $"frames are limited to {MaxFrameBytes} bytes");
                    return;
                }
                if (!result.EndOfMessage) continue;
                session.Tell(new SessionProtocol.Inbound(result.MessageType == WebSocketMessageType.Text
                    ? Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length)
                    : null));
                message.SetLength(0);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
