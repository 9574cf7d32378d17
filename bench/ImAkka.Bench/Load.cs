using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text;

namespace ImAkka.Bench;

/// <summary>CPU used by the server, Redis and the load generator itself over one measured window.</summary>
public sealed record CpuUse(TimeSpan Server, TimeSpan Redis, TimeSpan LoadGenerator, TimeSpan Wall)
{
    public double ServerCores => Server / Wall;
    public double RedisCores => Redis / Wall;
    public double LoadGeneratorCores => LoadGenerator / Wall;

    public static CpuUse operator +(CpuUse a, CpuUse b) =>
        new(a.Server + b.Server, a.Redis + b.Redis, a.LoadGenerator + b.LoadGenerator, a.Wall + b.Wall);
}

/// <summary>Snapshots of the processes' CPU, taken when a measured window opens and closes.</summary>
public sealed class CpuMeter(Child server, Child redis)
{
    private TimeSpan _server, _redis, _self;
    private long _start;

    public void Start()
    {
        _server = server.Cpu;
        _redis = redis.Cpu;
        _self = ProcStat.SelfCpu;
        _start = Stopwatch.GetTimestamp();
    }

    public CpuUse Stop() => new(server.Cpu - _server, redis.Cpu - _redis, ProcStat.SelfCpu - _self, Stopwatch.GetElapsedTime(_start));
}

public sealed record LoopResult(double Rate, Latencies Latency, long Ok, long Failed, CpuUse Cpu, IReadOnlyCollection<long> Seqs);

public static class Load
{
    /// <summary>One HTTP client for the whole run: pooled connections, no cookies, no proxy, loopback only.</summary>
    public static HttpClient Http() => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = 2048,
        UseCookies = false,
        UseProxy = false,
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(10),
    })
    {
        Timeout = TimeSpan.FromSeconds(30),
    };

    /// <summary>
    /// Sends and returns the stored message's <c>seq</c>, or -1 when the server did not answer 200.
    /// </summary>
    public static async Task<long> Send(HttpClient http, Target target, string groupId, string senderId, string content)
    {
        using var request = target.Send(groupId, senderId, content);
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead);
            if (response.StatusCode != HttpStatusCode.OK) return -1;
            var body = await response.Content.ReadAsByteArrayAsync();
            return Frames.Seq(body) ?? 0;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return -1;
        }
    }

    /// <summary>
    /// <paramref name="workers"/> loops each with one operation in flight. Operations that complete
    /// within the measured window (after the warm-up) count; the rate is those per second.
    /// <paramref name="op"/> answers a <c>seq</c> (&gt; 0), 0 for success without one, -1 for a failure.
    /// </summary>
    public static async Task<LoopResult> Closed(int workers, TimeSpan warmup, TimeSpan measure, CpuMeter meter,
        Func<int, long, Task<long>> op)
    {
        var clock = Stopwatch.StartNew();
        var start = warmup;
        var end = warmup + measure;
        var latencies = Enumerable.Range(0, workers).Select(_ => new List<double>()).ToArray();
        var seqs = new ConcurrentBag<long>();
        long ok = 0, failed = 0;
        CpuUse? cpu = null;
        var window = Task.Run(async () =>
        {
            await Until(clock, start);
            meter.Start();
            await Until(clock, end);
            cpu = meter.Stop();
        });
        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            long i = 0;
            while (clock.Elapsed < end)
            {
                var t0 = clock.Elapsed;
                var result = await op(w, i++);
                var t1 = clock.Elapsed;
                if (result > 0) seqs.Add(result);
                if (t1 < start || t1 > end) continue;
                if (result >= 0)
                {
                    Interlocked.Increment(ref ok);
                    latencies[w].Add((t1 - t0).TotalMicroseconds);
                }
                else Interlocked.Increment(ref failed);
            }
        })));
        await window;
        return new LoopResult(ok / measure.TotalSeconds, new Latencies(latencies.SelectMany(l => l)), ok, failed, cpu!, seqs);
    }

    /// <summary>
    /// Open loop: message <c>i</c> is due at <c>start + i / rate</c> whatever happened to the ones
    /// before it (no coordinated omission), and its latency counts from then. At most
    /// <paramref name="maxOutstanding"/> are in flight; when more are due they wait, and their wait counts.
    /// </summary>
    /// <param name="stop">Ends the loop early: nothing more is sent once it is cancelled.</param>
    public static async Task<LoopResult> Open(Schedule schedule, int maxOutstanding, CpuMeter? meter, Func<long, Task<long>> op,
        CancellationToken stop = default)
    {
        using var slots = new SemaphoreSlim(maxOutstanding);
        var latencies = new ConcurrentQueue<double>();
        var seqs = new ConcurrentBag<long>();
        var running = new List<Task>(schedule.Count);
        long ok = 0, failed = 0;
        meter?.Start();
        var began = Stopwatch.GetTimestamp();
        for (long i = 0; i < schedule.Count && !stop.IsCancellationRequested;)
        {
            var now = Stopwatch.GetTimestamp();
            while (i < schedule.Count && schedule.Due(i) <= now)
            {
                await slots.WaitAsync();
                var index = i++;
                running.Add(Task.Run(async () =>
                {
                    try
                    {
                        var result = await op(index);
                        if (result > 0) seqs.Add(result);
                        if (result >= 0)
                        {
                            Interlocked.Increment(ref ok);
                            latencies.Enqueue(Stopwatch.GetElapsedTime(schedule.Due(index)).TotalMicroseconds);
                        }
                        else Interlocked.Increment(ref failed);
                    }
                    finally
                    {
                        slots.Release();
                    }
                }));
            }
            if (i >= schedule.Count) break;
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), schedule.Due(i));
            if (wait <= TimeSpan.Zero) continue;
            try
            {
                await Task.Delay(wait < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : wait, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        var sending = Stopwatch.GetElapsedTime(began);
        await Task.WhenAll(running);
        var cpu = meter?.Stop() ?? new CpuUse(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);
        var seconds = stop.IsCancellationRequested ? sending.TotalSeconds : schedule.Duration.TotalSeconds;
        return new LoopResult(ok / Math.Max(seconds, 0.001), new Latencies(latencies), ok, failed, cpu, seqs);
    }

    private static async Task Until(Stopwatch clock, TimeSpan at)
    {
        var wait = at - clock.Elapsed;
        if (wait > TimeSpan.Zero) await Task.Delay(wait);
    }
}

/// <summary>When each message of an open loop is due, in Stopwatch ticks.</summary>
public sealed class Schedule(double rate, TimeSpan duration)
{
    private readonly long _start = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 50;
    private readonly double _ticksPerMessage = Stopwatch.Frequency / rate;

    public int Count { get; } = Math.Max(1, (int)(rate * duration.TotalSeconds));
    public TimeSpan Duration { get; } = duration;

    public long Due(long index) => _start + (long)(index * _ticksPerMessage);
}

/// <summary>Reads the two fields the bench needs from a frame or a REST answer without a JSON parser.</summary>
public static class Frames
{
    private static readonly byte[] SeqField = "\"seq\":"u8.ToArray();
    private static readonly byte[] ContentField = "\"content\":\""u8.ToArray();
    private static readonly byte[] MessageSentType = "\"type\":\"message_sent\""u8.ToArray();
    private static readonly byte[] ConnectedType = "\"type\":\"connected\""u8.ToArray();

    public static long? Seq(ReadOnlySpan<byte> json)
    {
        var at = json.IndexOf(SeqField);
        if (at < 0) return null;
        return Utf8Parser.TryParse(json[(at + SeqField.Length)..], out long seq, out _) ? seq : null;
    }

    public static bool IsMessageSent(ReadOnlySpan<byte> json) => json.IndexOf(MessageSentType) >= 0;

    public static bool IsConnected(ReadOnlySpan<byte> json) => json.IndexOf(ConnectedType) >= 0;

    /// <summary>The content's "tag:index" form, which the bench's messages carry.</summary>
    public static bool TryContent(ReadOnlySpan<byte> json, out ReadOnlySpan<byte> tag, out long index)
    {
        tag = default;
        index = -1;
        var at = json.IndexOf(ContentField);
        if (at < 0) return false;
        var rest = json[(at + ContentField.Length)..];
        var colon = rest.IndexOf((byte)':');
        if (colon < 0) return false;
        tag = rest[..colon];
        return Utf8Parser.TryParse(rest[(colon + 1)..], out index, out _);
    }
}

/// <summary>
/// One cell's pushes: when each message was sent (or was due), how many of its pushes arrived, and
/// the latency of each push, kept per socket so receive loops never contend.
/// </summary>
public sealed class PushSink
{
    private readonly byte[] _tag;
    private readonly long[] _sentAt;
    private readonly int[] _counts;
    private readonly TaskCompletionSource[]? _complete;
    private readonly List<double>[] _latencies;
    private long _received;

    public PushSink(string tag, int capacity, int socketCount, int pushesPerMessage, bool trackCompletion)
    {
        _tag = Encoding.ASCII.GetBytes(tag);
        Tag = tag;
        _sentAt = new long[capacity];
        _counts = new int[capacity];
        PushesPerMessage = pushesPerMessage;
        _latencies = Enumerable.Range(0, socketCount).Select(_ => new List<double>()).ToArray();
        if (trackCompletion)
            _complete = Enumerable.Range(0, capacity).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
    }

    public string Tag { get; }
    public int PushesPerMessage { get; }
    public long Received => Interlocked.Read(ref _received);
    public int Capacity => _sentAt.Length;

    public void SentAt(long index, long timestamp) => _sentAt[index] = timestamp;

    /// <summary>Completes when every recipient has the message (closed loops over delivery).</summary>
    public Task Delivered(long index) => _complete![index].Task;

    public void Record(int socket, ReadOnlySpan<byte> tag, long index, long now)
    {
        if (!tag.SequenceEqual(_tag) || index < 0 || index >= _sentAt.Length) return;
        Interlocked.Increment(ref _received);
        var latency = Stopwatch.GetElapsedTime(Volatile.Read(ref _sentAt[index]), now).TotalMicroseconds;
        var mine = _latencies[socket];
        lock (mine) mine.Add(latency);
        if (Interlocked.Increment(ref _counts[index]) == PushesPerMessage) _complete?[index].TrySetResult();
    }

    public Latencies Latencies()
    {
        var all = new List<double>();
        foreach (var list in _latencies)
        {
            lock (list) all.AddRange(list);
        }
        return new Latencies(all);
    }
}

/// <summary>
/// A receiving client: one WebSocket that reads every frame, checks that <c>seq</c> rises by one
/// from frame to frame (its user is in one group), and records bench messages in the current sink.
/// </summary>
public sealed class PushSocket : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _loop = Task.CompletedTask;
    private PushSink? _sink;
    private long _lastSeq;
    private long _received;
    private long _outOfOrder;
    private long _gaps;

    private PushSocket(int index) => Index = index;

    public int Index { get; }
    public long Received => Interlocked.Read(ref _received);
    public long LastSeq => Interlocked.Read(ref _lastSeq);
    public long OutOfOrder => Interlocked.Read(ref _outOfOrder);
    public long Gaps => Interlocked.Read(ref _gaps);
    public bool Closed => _loop.IsCompleted;

    public PushSink? Sink
    {
        set => Volatile.Write(ref _sink, value);
    }

    /// <param name="awaitConnected">Wait for the <c>connected</c> frame, i.e. until the server's session is fully open.</param>
    public static async Task<PushSocket> Connect(Uri uri, int index, HttpMessageInvoker invoker, bool awaitConnected, int receiveBuffer = 4096)
    {
        var socket = new PushSocket(index);
        socket._socket.Options.KeepAliveInterval = TimeSpan.Zero;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await socket._socket.ConnectAsync(uri, invoker, timeout.Token);
        socket._loop = socket.ReceiveLoop(receiveBuffer);
        if (awaitConnected) await socket._connected.Task.WaitAsync(timeout.Token);
        return socket;
    }

    private async Task ReceiveLoop(int bufferSize)
    {
        var buffer = new byte[bufferSize];
        var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close) break;
                var now = Stopwatch.GetTimestamp();
                if (!result.EndOfMessage || message.Length > 0)
                {
                    message.Write(buffer, 0, result.Count);
                    if (!result.EndOfMessage) continue;
                    OnFrame(message.GetBuffer().AsSpan(0, (int)message.Length), now);
                    message.SetLength(0);
                }
                else OnFrame(buffer.AsSpan(0, result.Count), now);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            _connected.TrySetException(new InvalidOperationException("the socket closed before it was connected"));
        }
    }

    private void OnFrame(ReadOnlySpan<byte> frame, long now)
    {
        if (!Frames.IsMessageSent(frame))
        {
            if (Frames.IsConnected(frame)) _connected.TrySetResult();
            return;
        }
        Interlocked.Increment(ref _received);
        if (Frames.Seq(frame) is { } seq)
        {
            var last = Interlocked.Exchange(ref _lastSeq, seq);
            if (seq <= last) Interlocked.Increment(ref _outOfOrder);
            else if (seq != last + 1) Interlocked.Increment(ref _gaps);
        }
        if (Volatile.Read(ref _sink) is { } sink && Frames.TryContent(frame, out var tag, out var index))
            sink.Record(Index, tag, index, now);
    }

    /// <summary>Drops the connection without a close handshake: the bench ends many at once, and its servers are killed anyway.</summary>
    public void Abort() => _socket.Abort();

    public async ValueTask DisposeAsync()
    {
        _socket.Abort();
        try
        {
            await _loop.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
        }
        _socket.Dispose();
    }

    public static HttpMessageInvoker Invoker() => new(new SocketsHttpHandler
    {
        UseProxy = false,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(10),
    });

    /// <summary>Opens many sockets a few dozen at a time.</summary>
    public static async Task<PushSocket[]> ConnectMany(IReadOnlyList<Uri> uris, HttpMessageInvoker invoker, bool awaitConnected,
        int firstIndex = 0, int parallel = 64, int receiveBuffer = 4096)
    {
        var sockets = new PushSocket[uris.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, uris.Count), new ParallelOptions { MaxDegreeOfParallelism = parallel },
            async (i, _) => sockets[i] = await Connect(uris[i], firstIndex + i, invoker, awaitConnected, receiveBuffer));
        return sockets;
    }
}
