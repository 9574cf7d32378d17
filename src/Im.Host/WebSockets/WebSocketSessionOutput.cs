using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;
using Im.Actors.Sessions;

namespace Im.Host.WebSockets;

/// <summary>
/// The outbound side of one socket: a bounded queue the SessionActor fills and one pump that
/// drains it, so frames go out in the order the actor queued them and a slow client cannot make
/// the queue grow past its capacity.
/// </summary>
public sealed class WebSocketSessionOutput(int capacity) : ISessionOutput
{
    private readonly Channel<string> _frames = Channel.CreateBounded<string>(
        new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private (int Status, string Reason)? _close;

    public bool TryEnqueue(string frame) => _frames.Writer.TryWrite(frame);

    public void Close(int closeStatus, string reason)
    {
        lock (_frames)
        {
            _close ??= (closeStatus, reason);
        }
        _frames.Writer.TryComplete();
    }

    /// <summary>Sends queued frames until <see cref="Close"/>, then starts the close handshake.</summary>
    public async Task Pump(WebSocket socket, CancellationToken cancellation)
    {
        await foreach (var frame in _frames.Reader.ReadAllAsync(cancellation))
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, true, cancellation);
        }
        (int Status, string Reason)? close;
        lock (_frames)
        {
            close = _close;
        }
        if (close is { } c && socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            await socket.CloseOutputAsync((WebSocketCloseStatus)c.Status, c.Reason, cancellation);
    }
}
