using System.Net.WebSockets;
using System.Text;
using System.Threading.Tasks.Sources;
using Im.Actors.Sessions;

namespace Im.Host.WebSockets;

/// <summary>
/// The outbound side of one socket: a bounded queue the SessionActor fills and one pump that
/// drains it, so frames go out in the order the actor queued them and a slow client cannot make
/// the queue grow past its capacity. Most sockets are idle, so an empty queue holds no array and
/// the waiting pump one reusable signal (a bounded channel keeps several waiter objects per socket).
/// Once closed, the socket has <paramref name="closeGrace"/> to finish: the queued frames, the close
/// handshake, the client's answer; then it is aborted, which also ends a send to a client that stopped
/// reading and a read that waits for an answer that never comes. So an open socket holds no timer and
/// no cancellation registration. Disposed when the connection is done, which stops that timer.
/// </summary>
public sealed class WebSocketSessionOutput(WebSocket socket, int capacity, TimeSpan closeGrace) : ISessionOutput, IValueTaskSource, IDisposable
{
    private const int KeptFrames = 8;

    private readonly Queue<string> _frames = new();
    private (int Status, string Reason)? _close;
    private ManualResetValueTaskSourceCore<bool> _wake = new() { RunContinuationsAsynchronously = true };
    private bool _pumpWaits;
    private Timer? _abortAfterGrace;

    public bool TryEnqueue(string frame)
    {
        lock (_frames)
        {
            if (_close is not null || _frames.Count >= capacity) return false;
            _frames.Enqueue(frame);
            if (!TakeWaitingPump()) return true;
        }
        _wake.SetResult(true);
        return true;
    }

    public void Close(int closeStatus, string reason)
    {
        lock (_frames)
        {
            if (_close is not null) return;
            _close = (closeStatus, reason);
            _abortAfterGrace = new Timer(static output => ((WebSocketSessionOutput)output!).AbortUnlessClosed(), this, closeGrace,
                Timeout.InfiniteTimeSpan);
            if (!TakeWaitingPump()) return;
        }
        _wake.SetResult(true);
    }

    private void AbortUnlessClosed()
    {
        if (socket.State is not (WebSocketState.Closed or WebSocketState.Aborted)) socket.Abort();
    }

    public void Dispose()
    {
        lock (_frames)
        {
            _abortAfterGrace?.Dispose();
        }
    }

    /// <summary>Sends queued frames until <see cref="Close"/>, then starts the close handshake.</summary>
    public async Task Pump()
    {
        while (true)
        {
            string? frame;
            (int Status, string Reason)? close = null;
            short waitFor = 0;
            lock (_frames)
            {
                if (!_frames.TryDequeue(out frame))
                {
                    // A queue that once held a burst gives its array back once drained.
                    if (_frames.Capacity > KeptFrames) _frames.TrimExcess(0);
                    if (_close is not null) close = _close;
                    else
                    {
                        _wake.Reset();
                        waitFor = _wake.Version;
                        _pumpWaits = true;
                    }
                }
            }
            if (frame is not null)
            {
                await socket.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, true, CancellationToken.None);
                continue;
            }
            if (close is { } c)
            {
                if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                    await socket.CloseOutputAsync((WebSocketCloseStatus)c.Status, c.Reason, CancellationToken.None);
                return;
            }
            await new ValueTask(this, waitFor);
        }
    }

    // Under the lock: whether the pump sleeps and is to be woken (outside the lock, as its continuation runs elsewhere).
    private bool TakeWaitingPump()
    {
        if (!_pumpWaits) return false;
        _pumpWaits = false;
        return true;
    }

    void IValueTaskSource.GetResult(short token) => _wake.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _wake.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _wake.OnCompleted(continuation, state, token, flags);
}
