using System.Diagnostics.CodeAnalysis;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Im.Contracts;

namespace Im.TestSupport;

/// <summary>A real WebSocket client that collects every frame it receives, in order.</summary>
public sealed class WsClient : IAsyncDisposable
{
    private static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(15);
    private readonly ClientWebSocket _socket = new();
    private readonly Channel<JsonNode> _frames = Channel.CreateUnbounded<JsonNode>();
    private readonly CancellationTokenSource _stop = new();
    private Task _receiving = Task.CompletedTask;

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public static async Task<WsClient> Connect(Uri httpBase, string userId, bool expectConnected = true)
    {
        var client = new WsClient();
        var uri = new UriBuilder(httpBase) { Scheme = "ws", Path = "/ws/" + Uri.EscapeDataString(userId) }.Uri;
        await client._socket.ConnectAsync(uri, CancellationToken.None);
        client._receiving = client.ReceiveLoop();
        if (expectConnected)
        {
            var connected = await client.Next();
            if ((string?)connected["type"] != FrameTypes.Connected)
                throw new InvalidOperationException("expected a connected frame, got " + connected.ToJsonString());
        }
        return client;
    }

    public async Task<JsonNode> Next(TimeSpan? wait = null)
    {
        using var timeout = new CancellationTokenSource(wait ?? DefaultWait);
        try
        {
            return await _frames.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no frame within {wait ?? DefaultWait}");
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"the socket closed ({_socket.CloseStatus} {_socket.CloseStatusDescription})");
        }
    }

    /// <summary>Skips frames until one of <paramref name="type"/> comes.</summary>
    public async Task<JsonNode> NextOfType(string type, TimeSpan? wait = null)
    {
        while (true)
        {
            var frame = await Next(wait);
            if ((string?)frame["type"] == type) return frame;
        }
    }

    public Task SendJson(object frame) => SendText(ImJson.Serialize(frame));

    public Task SendText(string text) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    public Task SendBinary(byte[] data) => _socket.SendAsync(data, WebSocketMessageType.Binary, true, CancellationToken.None);

    /// <summary>
    /// Sends bytes as they are: a text frame need not be valid UTF-8, and with <paramref name="endOfMessage"/>
    /// false the next call continues the same message, so a message can be sent in fragments.
    /// </summary>
    public Task SendRaw(byte[] data, WebSocketMessageType type, bool endOfMessage = true) =>
        _socket.SendAsync(data, type, endOfMessage, CancellationToken.None);

    /// <summary>A frame that has already arrived, without waiting for one.</summary>
    public bool TryNext([NotNullWhen(true)] out JsonNode? frame) => _frames.Reader.TryRead(out frame);

    /// <summary>Completes when the server has closed the socket.</summary>
    public Task Closed => _receiving;

    private async Task ReceiveLoop()
    {
        var buffer = new byte[64 * 1024];
        var message = new MemoryStream();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var result = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    if (_socket.State == WebSocketState.CloseReceived)
                        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
                    break;
                }
                message.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage) continue;
                _frames.Writer.TryWrite(JsonNode.Parse(Encoding.UTF8.GetString(message.ToArray()))!);
                message.SetLength(0);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
        }
        finally
        {
            _frames.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token);
                await _receiving.WaitAsync(TimeSpan.FromSeconds(2));
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or TimeoutException)
            {
            }
        }
        await _stop.CancelAsync();
        _socket.Dispose();
        _stop.Dispose();
    }
}
