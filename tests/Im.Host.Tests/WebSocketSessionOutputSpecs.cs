using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Im.Host.WebSockets;

namespace Im.Host.Tests;

/// <summary>
/// The outbound side of a socket over a real loopback TCP connection: a server WebSocket that the
/// output drives and a client WebSocket that reads (or, on purpose, does not).
/// </summary>
public sealed class WebSocketSessionOutputSpecs : IAsyncLifetime
{
    private static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private WebSocket _server = null!;
    private WebSocket _client = null!;
    private readonly List<IDisposable> _disposables = [];

    public async Task InitializeAsync()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var client = new TcpClient();
        var accepted = listener.AcceptTcpClientAsync();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        var server = await accepted;
        listener.Stop();
        _disposables.AddRange([client, server]);
        _server = WebSocket.CreateFromStream(server.GetStream(), new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero });
        _client = WebSocket.CreateFromStream(client.GetStream(), new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });
    }

    public Task DisposeAsync()
    {
        _server.Dispose();
        _client.Dispose();
        foreach (var disposable in _disposables) disposable.Dispose();
        return Task.CompletedTask;
    }

    private async Task<(string? Text, WebSocketCloseStatus? Close, string? Reason)> Read()
    {
        var buffer = new byte[64 * 1024];
        using var timeout = new CancellationTokenSource(Patience);
        var result = await _client.ReceiveAsync(buffer, timeout.Token);
        return result.MessageType == WebSocketMessageType.Close
            ? (null, result.CloseStatus, result.CloseStatusDescription)
            : (Encoding.UTF8.GetString(buffer, 0, result.Count), null, null);
    }

    [Fact]
    public async Task Should_send_frames_in_the_order_queued_then_the_first_close_given()
    {
        using var output = new WebSocketSessionOutput(_server, 16, Grace);
        var pump = output.Pump();
        Assert.True(output.TryEnqueue("one"));
        Assert.True(output.TryEnqueue("two"));
        output.Close(1013, "outbound queue full");
        output.Close(1000, "bye");

        Assert.Equal("one", (await Read()).Text);
        Assert.Equal("two", (await Read()).Text);
        var close = await Read();
        Assert.Equal((WebSocketCloseStatus)1013, close.Close);
        Assert.Equal("outbound queue full", close.Reason);
        await pump.WaitAsync(Patience);
    }

    [Fact]
    public async Task Should_wake_a_pump_that_waits_on_an_empty_queue()
    {
        using var output = new WebSocketSessionOutput(_server, 16, Grace);
        var pump = output.Pump();
        for (var i = 0; i < 20; i++)
        {
            // Each frame finds the pump asleep: it has sent the one before and found nothing more.
            Assert.True(output.TryEnqueue($"frame {i}"));
            Assert.Equal($"frame {i}", (await Read()).Text);
        }
        Assert.False(pump.IsCompleted);
        output.Close(1000, "bye");
        Assert.Equal(WebSocketCloseStatus.NormalClosure, (await Read()).Close);
    }

    [Fact]
    public void Should_refuse_a_frame_over_its_capacity_and_any_after_the_close()
    {
        // No pump: nothing drains, as with a client that reads nothing.
        using var output = new WebSocketSessionOutput(_server, 3, Grace);
        Assert.True(output.TryEnqueue("1"));
        Assert.True(output.TryEnqueue("2"));
        Assert.True(output.TryEnqueue("3"));
        Assert.False(output.TryEnqueue("4"));

        using var closed = new WebSocketSessionOutput(_server, 3, Grace);
        closed.Close(1000, "bye");
        Assert.False(closed.TryEnqueue("late"));
    }

    [Fact]
    public async Task Should_abort_the_socket_when_the_client_does_not_answer_the_close_within_the_grace()
    {
        using var output = new WebSocketSessionOutput(_server, 16, Grace);
        var pump = output.Pump();
        // The server waits for the client's close frame, as the session's reader does; the client never sends it.
        var waitForAnswer = _server.ReceiveAsync(new byte[16], CancellationToken.None);
        output.Close(1000, "bye");
        await pump.WaitAsync(Patience);

        await Assert.ThrowsAnyAsync<Exception>(() => waitForAnswer.WaitAsync(Patience));
        Assert.Equal(WebSocketState.Aborted, _server.State);
    }

    [Fact]
    public async Task Should_end_a_send_stuck_on_a_client_that_stopped_reading_once_closed()
    {
        using var output = new WebSocketSessionOutput(_server, 64, Grace);
        var pump = output.Pump();
        // 24 MB the client never reads: more than both sockets' buffers hold, so the pump's send blocks.
        var frame = new string('x', 1024 * 1024);
        for (var i = 0; i < 24; i++) Assert.True(output.TryEnqueue(frame));
        output.Close(1000, "bye");

        await Assert.ThrowsAnyAsync<Exception>(() => pump.WaitAsync(Patience));
        Assert.Equal(WebSocketState.Aborted, _server.State);
    }
}
