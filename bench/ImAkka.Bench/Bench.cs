using System.Diagnostics;

namespace ImAkka.Bench;

public sealed record ThroughputRound(LoopResult ImAkka, LoopResult Baseline)
{
    public double Ratio => ImAkka.Rate / Baseline.Rate;
}

public sealed record HotChecks(long Acknowledged, long Failed, long DistinctSeqs, long MaxSeq, long PushesExpected, long PushesReceived,
    long OutOfOrder, long Gaps)
{
    /// <summary>Every acknowledged send took its own seq, and together they are 1..N.</summary>
    public bool GapFree => DistinctSeqs == Acknowledged && MaxSeq == Acknowledged;

    public bool OrderKept => OutOfOrder == 0 && Gaps == 0 && PushesReceived == PushesExpected;
}

public sealed record CellResult(double SentRate, Latencies Push, Latencies Send, long Expected, long Received, long SendFailures,
    CpuUse Cpu, long OutOfOrder, long Gaps)
{
    public long Lost => Math.Max(0, Expected - Received);

    public double CpuMicrosPerPush => Received == 0 ? double.NaN : Cpu.Server.TotalMicroseconds / Received;
}

public sealed record FanoutCell(int Size, double Load, double Rate, int Round, CellResult ImAkka, CellResult Baseline)
{
    public double P99Ratio => ImAkka.Push.P99 / Baseline.Push.P99;
}

public sealed record FanoutSize(int Size, int Groups, int Sockets, LoopResult MaxImAkka, LoopResult MaxBaseline, List<FanoutCell> Cells);

/// <summary>
/// The run: the servers, the shared clients, and the phases in order. Each phase alternates ImAkka
/// and its baseline round by round (ImAkka first in odd rounds, second in even ones) so that a
/// machine that gets busier or quieter during the run moves both sides of a ratio alike.
/// </summary>
public sealed partial class Bench(Settings settings, Paths paths, Profiler profiler, IReadOnlySet<string>? only = null) : IAsyncDisposable
{
    /// <summary>For working on one phase: <c>--only hot,fanout</c> runs those and writes no report.</summary>
    private bool Runs(string phase) => only is null || only.Contains(phase);

    private const string Content = "bench message 0123456789 abcdefghij";

    private readonly HttpClient _http = Load.Http();
    private readonly HttpMessageInvoker _ws = PushSocket.Invoker();
    private Child _redis = null!;
    private int _redisPort;
    private Server _ai = null!;
    private ImAkkaTarget _im = null!;
    private BareTarget _bare = null!;
    private int _cells;
    private List<BenchGroup> _imSendGroups = [];

    public Results Results { get; } = new();

    private string NextTag() => $"c{++_cells}";

    private string AiEndpoint => new Uri(_ai.Base, "/v1/chat/completions").ToString();

    private IEnumerable<Target> Order(int round) => round % 2 == 0 ? [_im, _bare] : [_bare, _im];

    private CpuMeter Meter(Target target) => new(target.Server.Process, _redis);

    public async Task Run()
    {
        Progress.Phases = 9;
        Progress.Phase("starting redis-server, the stand-in AI, ImAkka and the bare server");
        (_redis, _redisPort) = await Servers.StartRedis(paths);
        _ai = await Servers.StartBaseline(paths, "stand-in-ai", "ai");
        _im = new ImAkkaTarget(await Servers.StartImAkka(paths, "imakka", _redisPort, "im:", AiEndpoint));
        _bare = new BareTarget(await Servers.StartBaseline(paths, "bare", "bare", _redisPort));
        Results.Machine = await MachineInfo.Describe(paths);
        await WarmUp();

        if (Runs("sends") || Runs("ai")) Results.Sends = await Sends();
        if (Runs("hot")) Results.Hot = await HotGroup();
        if (Runs("fanout")) Results.Fanout = await Fanout();
        if (Runs("ai")) Results.Ai = await AiForwarding();
        var memoryUsers = Runs("memory") ? await MemoryUsers() : [];
        await _im.Server.Process.Kill();
        await _bare.Server.Process.Kill();
        if (Runs("memory")) Results.Memory = await IdleMemory(memoryUsers);
        if (Runs("cold")) Results.Cold = await ColdStart();
        if (Runs("cluster")) Results.Cluster = await Cluster();
        Progress.Phase("writing the report");
    }

    /// <summary>
    /// A fresh .NET process runs its first seconds of load on unoptimized code (tiered JIT and its
    /// profile-guided recompilation take a few seconds of traffic), half as fast as later; without
    /// this the first round of the first phase would judge the JIT. Sends and pushes both, untimed.
    /// </summary>
    private async Task WarmUp()
    {
        Progress.Step("warming both servers up (untimed sends and pushes)");
        foreach (var target in new Target[] { _im, _bare })
        {
            var groups = await Setup.Groups(target, _http, Settings.SendGroups, Setup.Doctors(2));
            var sockets = await PushSocket.ConnectMany(groups.SelectMany(g => g.Members).Select(target.Server.Ws).ToList(), _ws, true);
            await SendLoop(target, groups, TimeSpan.Zero, settings.Quick ? TimeSpan.FromMilliseconds(500) : TimeSpan.FromSeconds(4));
            foreach (var socket in sockets) await socket.DisposeAsync();
        }
    }

    private async Task<List<ThroughputRound>> Sends()
    {
        Progress.Phase($"sends over {Settings.SendGroups} groups of 2, {Settings.InFlight} in flight: ImAkka vs the bare Redis-writing endpoint");
        var groups = new Dictionary<Target, List<BenchGroup>>
        {
            [_im] = await Setup.Groups(_im, _http, Settings.SendGroups, Setup.Doctors(2)),
            [_bare] = await Setup.Groups(_bare, _http, Settings.SendGroups, Setup.Doctors(2)),
        };
        _imSendGroups = groups[_im];
        var rounds = new List<ThroughputRound>();
        for (var round = 0; round < settings.Rounds; round++)
        {
            var results = new Dictionary<Target, LoopResult>();
            foreach (var target in Order(round))
            {
                results[target] = await SendLoop(target, groups[target], settings.Warmup, settings.Measure);
                Progress.Step($"round {round + 1}/{settings.Rounds} {target.Name}: {Fmt.N(results[target].Rate)} msg/s, "
                    + $"p50 {Fmt.Ms(results[target].Latency.P50)} ms, server {Fmt.D(results[target].Cpu.ServerCores, "0.00")} cores");
            }
            rounds.Add(new ThroughputRound(results[_im], results[_bare]));
        }
        if (profiler.Enabled)
        {
            Results.Profiles["sends"] = await profiler.Trace(_im.Server.Process, "sends", settings.ProfileLoad,
                () => SendLoop(_im, groups[_im], TimeSpan.Zero, settings.ProfileLoad));
        }
        return rounds;
    }

    private Task<LoopResult> SendLoop(Target target, List<BenchGroup> groups, TimeSpan warmup, TimeSpan measure) =>
        Load.Closed(Settings.InFlight, warmup, measure, Meter(target), (worker, i) =>
        {
            var group = groups[(int)((worker + i) % groups.Count)];
            return Load.Send(_http, target, group.Id, group.Members[(int)(i % group.Members.Count)], Content);
        });

    private async Task<HotResult> HotGroup()
    {
        Progress.Phase($"one hot group, {Settings.HotSenders} senders: seq gap-free, push order on {Settings.HotReceivers} sockets");
        var rounds = new List<ThroughputRound>();
        var checks = new Dictionary<Target, HotChecks>();
        var state = new Dictionary<Target, (BenchGroup Group, PushSocket[] Receivers, List<long> Seqs, long[] Failed)>();
        foreach (var target in new Target[] { _im, _bare })
        {
            var group = (await Setup.Groups(target, _http, 1, Setup.Doctors(Settings.HotSenders)))[0];
            var receivers = await PushSocket.ConnectMany(group.Members.Take(Settings.HotReceivers).Select(target.Server.Ws).ToList(), _ws, true);
            state[target] = (group, receivers, [], [0]);
        }
        Task<LoopResult> HotLoop(Target target, TimeSpan warmup, TimeSpan measure)
        {
            var (group, _, _, failed) = state[target];
            return Load.Closed(Settings.HotSenders, warmup, measure, Meter(target), async (worker, _) =>
            {
                var seq = await Load.Send(_http, target, group.Id, group.Members[worker], Content);
                if (seq < 0) Interlocked.Increment(ref failed[0]);
                return seq;
            });
        }
        for (var round = 0; round < settings.Rounds; round++)
        {
            var results = new Dictionary<Target, LoopResult>();
            foreach (var target in Order(round))
            {
                var result = results[target] = await HotLoop(target, settings.Warmup, settings.Measure);
                state[target].Seqs.AddRange(result.Seqs);
                Progress.Step($"round {round + 1}/{settings.Rounds} {target.Name}: {Fmt.N(result.Rate)} msg/s, p50 {Fmt.Ms(result.Latency.P50)} ms, "
                    + $"server {Fmt.D(result.Cpu.ServerCores, "0.00")} cores");
            }
            rounds.Add(new ThroughputRound(results[_im], results[_bare]));
        }
        if (profiler.Enabled)
        {
            Results.Profiles["hot"] = await profiler.Trace(_im.Server.Process, "hot", settings.ProfileLoad, async () =>
                state[_im].Seqs.AddRange((await HotLoop(_im, TimeSpan.Zero, settings.ProfileLoad)).Seqs));
        }
        foreach (var (target, (_, receivers, seqs, failed)) in state)
        {
            var max = seqs.Count == 0 ? 0 : seqs.Max();
            try
            {
                await Servers.Until(() => Task.FromResult(receivers.All(r => r.LastSeq >= max || r.Closed)), "the hot group's last pushes",
                    timeout: settings.Drain * 3);
            }
            catch (TimeoutException)
            {
                // What has not arrived is reported as missing pushes.
            }
            checks[target] = new HotChecks(seqs.Count, failed[0], seqs.Distinct().LongCount(), max,
                (long)seqs.Count * receivers.Length, receivers.Sum(r => r.Received), receivers.Sum(r => r.OutOfOrder), receivers.Sum(r => r.Gaps));
            foreach (var receiver in receivers) await receiver.DisposeAsync();
        }
        return new HotResult(rounds, checks[_im], checks[_bare]);
    }

    private async Task<List<FanoutSize>> Fanout()
    {
        Progress.Phase("fan-out latency at group sizes 2, 10 and 100, open loop at ¼, ½ and ¾ of ImAkka's delivered maximum");
        var sizes = new List<FanoutSize>();
        foreach (var size in Settings.FanoutSizes)
        {
            var groupCount = Settings.FanoutGroups(size);
            var groups = new Dictionary<Target, List<BenchGroup>>();
            var sockets = new Dictionary<Target, PushSocket[]>();
            foreach (var target in new Target[] { _im, _bare })
            {
                groups[target] = await Setup.Groups(target, _http, groupCount, Setup.Doctors(size));
                sockets[target] = await PushSocket.ConnectMany(
                    groups[target].SelectMany(g => g.Members).Select(target.Server.Ws).ToList(), _ws, true);
            }
            var maxIm = await DeliveryLoop(_im, groups[_im], sockets[_im], size);
            var maxBare = await DeliveryLoop(_bare, groups[_bare], sockets[_bare], size);
            Progress.Step($"size {size} ({groupCount} group(s), {sockets[_im].Length} sockets): delivered maximum ImAkka {Fmt.N(maxIm.Rate)} msg/s, "
                + $"bare {Fmt.N(maxBare.Rate)} msg/s");
            var cells = new List<FanoutCell>();
            foreach (var load in Settings.FanoutLoads)
            {
                var rate = Math.Max(1, load * maxIm.Rate);
                for (var round = 0; round < settings.Rounds; round++)
                {
                    var results = new Dictionary<Target, CellResult>();
                    foreach (var target in Order(round))
                        results[target] = await Cell(target, groups[target], sockets[target], size, rate, settings.FanoutCell);
                    var cell = new FanoutCell(size, load, rate, round, results[_im], results[_bare]);
                    cells.Add(cell);
                    Progress.Step($"size {size} at {load:P0} ({Fmt.N(rate)} msg/s) round {round + 1}/{settings.Rounds}: push p99 ImAkka "
                        + $"{Fmt.Ms(cell.ImAkka.Push.P99)} ms, bare {Fmt.Ms(cell.Baseline.Push.P99)} ms; lost {cell.ImAkka.Lost}/{cell.Baseline.Lost}");
                }
            }
            if (profiler.Enabled && size == Settings.FanoutSizes[^1])
            {
                var rate = Math.Max(1, Settings.FanoutLoads[^1] * maxIm.Rate);
                Results.Profiles["fanout"] = await profiler.Trace(_im.Server.Process, "fanout", settings.ProfileLoad,
                    () => Cell(_im, groups[_im], sockets[_im], size, rate, settings.ProfileLoad));
            }
            sizes.Add(new FanoutSize(size, groupCount, sockets[_im].Length, maxIm, maxBare, cells));
            foreach (var socket in sockets.Values.SelectMany(s => s)) await socket.DisposeAsync();
        }
        return sizes;
    }

    /// <summary>
    /// The most messages a second a target delivers to every recipient: a closed loop in which a
    /// message counts as done only when every member's socket has it. Sends alone would overstate
    /// it, since a send is answered before its pushes go out.
    /// </summary>
    private async Task<LoopResult> DeliveryLoop(Target target, List<BenchGroup> groups, PushSocket[] sockets, int size)
    {
        const int inFlight = 32;
        var sink = new PushSink(NextTag(), 200_000, sockets.Length, size, trackCompletion: true);
        foreach (var socket in sockets) socket.Sink = sink;
        long next = -1;
        var result = await Load.Closed(inFlight, settings.Warmup / 2, settings.MaxRateMeasure, Meter(target), async (_, _) =>
        {
            var index = Interlocked.Increment(ref next);
            if (index >= sink.Capacity) return -1;
            var group = groups[(int)(index % groups.Count)];
            var sender = group.Members[(int)(index / groups.Count % group.Members.Count)];
            sink.SentAt(index, Stopwatch.GetTimestamp());
            if (await Load.Send(_http, target, group.Id, sender, $"{sink.Tag}:{index}") < 0) return -1;
            try
            {
                await sink.Delivered(index).WaitAsync(TimeSpan.FromSeconds(10));
                return 0;
            }
            catch (TimeoutException)
            {
                return -1;
            }
        });
        foreach (var socket in sockets) socket.Sink = null;
        return result;
    }

    /// <summary>One open-loop cell: messages at a fixed rate, every push's latency from when its message was due.</summary>
    private async Task<CellResult> Cell(Target target, List<BenchGroup> groups, PushSocket[] sockets, int size, double rate, TimeSpan duration)
    {
        var schedule = new Schedule(rate, duration);
        var sink = new PushSink(NextTag(), schedule.Count, sockets.Length, size, trackCompletion: false);
        for (var i = 0; i < schedule.Count; i++) sink.SentAt(i, schedule.Due(i));
        var outOfOrder = sockets.Sum(s => s.OutOfOrder);
        var gaps = sockets.Sum(s => s.Gaps);
        foreach (var socket in sockets) socket.Sink = sink;
        var meter = Meter(target);
        meter.Start();
        var sent = await Load.Open(schedule, 1024, null, index =>
        {
            var group = groups[(int)(index % groups.Count)];
            var sender = group.Members[(int)(index / groups.Count % group.Members.Count)];
            return Load.Send(_http, target, group.Id, sender, $"{sink.Tag}:{index}");
        });
        var expected = sent.Ok * size;
        try
        {
            await Servers.Until(() => Task.FromResult(sink.Received >= expected), "pushes", timeout: settings.Drain);
        }
        catch (TimeoutException)
        {
            // Whatever has not arrived by now is counted as lost.
        }
        var cpu = meter.Stop();
        foreach (var socket in sockets) socket.Sink = null;
        return new CellResult(sent.Rate, sink.Latencies(), sent.Latency, expected, sink.Received, sent.Failed, cpu,
            sockets.Sum(s => s.OutOfOrder) - outOfOrder, sockets.Sum(s => s.Gaps) - gaps);
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        _ws.Dispose();
        await Task.CompletedTask;
    }
}

public sealed record HotResult(List<ThroughputRound> Rounds, HotChecks ImAkka, HotChecks Baseline);
