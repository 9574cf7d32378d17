using System.Diagnostics;
using System.Text.Json;

namespace ImAkka.Bench;

/// <param name="Without">The probe alone.</param>
/// <param name="WhileStarting">The probe while the patients' messages that start the calls are sent.</param>
/// <param name="InFlight">The probe from the moment every call has started until the window ends: the calls running and answered.</param>
public sealed record AiRound(int Round, LoopResult Without, LoopResult WhileStarting, LoopResult InFlight, TimeSpan Starting,
    double MaxCallsAtOnce, double MaxThreadPoolQueue, double MaxThreadPoolThreads, double MaxAiQueue, long RepliesStored, TimeSpan RepliesWithin,
    double EventsPerCall)
{
    public double Ratio => InFlight.Latency.P99 / Without.Latency.P99;

    public double StartingRatio => WhileStarting.Latency.P99 / Without.Latency.P99;
}

/// <param name="Pieces">How many pieces the stand-in streams each answer in.</param>
public sealed record AiResult(List<AiRound> Rounds, double ProbeRate, int Calls, int PatientGroups, int Pieces);

public sealed record MemoryLevel(int Connections, long ImAkkaBytes, long EchoBytes)
{
    public double ImAkkaPerConnection => (double)ImAkkaBytes / Connections;
    public double EchoPerConnection => (double)EchoBytes / Connections;
    public double Ratio => ImAkkaPerConnection / EchoPerConnection;
}

public sealed record MemoryRound(int Round, long ImAkkaBase, long EchoBase, List<MemoryLevel> Levels);

public sealed record ColdRound(int Round, Latencies Cold, Latencies Warm)
{
    public double Ratio => Cold.P50 / Warm.P50;
}

public sealed record ColdResult(List<ColdRound> Rounds, int Groups, int PassivateAfterSeconds);

public sealed record NodeFanout(int Node, int Sockets, long EventsReceived, long EventsForOwnSockets, long PushesDelivered,
    long PushesExpected, long StoredHere)
{
    public double Ratio => EventsForOwnSockets == 0 ? double.NaN : (double)EventsReceived / EventsForOwnSockets;
}

/// <param name="Skewed">Every socket on node 1 (senders still spread over all nodes), instead of each group's on a node of its own.</param>
public sealed record ClusterRun(int Nodes, long Messages, long SendFailures, long PushesExpected, long PushesReceived, List<NodeFanout> PerNode,
    bool Skewed = false)
{
    public long Lost => Math.Max(0, PushesExpected - PushesReceived);
}

public sealed partial class Bench
{
    private const int PatientGroupsFull = 50;

    private async Task<AiResult> AiForwarding()
    {
        var calls = settings.AiCalls;
        Progress.Phase($"AI forwarding: {calls} calls to a stand-in taking 1–2 s (Ai__MaxConcurrency=1000) against non-AI sends");
        var groupCount = settings.Quick ? 10 : PatientGroupsFull;
        var patients = await Setup.Groups(_im, _http, groupCount, ["DOCTOR", "PATIENT"]);
        var sendRate = Spread.Of(Results.Sends.Select(r => r.ImAkka.Rate)).Median;
        var probeRate = Math.Max(10, Math.Min(settings.AiProbeRate, sendRate / 4));
        var rounds = new List<AiRound>();
        for (var round = 0; round < settings.Rounds; round++)
        {
            LoopResult? without = null;
            AiEpisode? with = null;
            foreach (var withAi in round % 2 == 0 ? new[] { false, true } : [true, false])
            {
                if (!withAi)
                {
                    without = await Probe(probeRate, settings.AiWindow);
                    Progress.Step($"round {round + 1}/{settings.Rounds} without AI: non-AI send p99 {Fmt.Ms(without.Latency.P99)} ms");
                    continue;
                }
                with = await ProbeWithAiCalls(probeRate, patients, calls);
                Progress.Step($"round {round + 1}/{settings.Rounds} with AI: non-AI send p99 {Fmt.Ms(with.WhileStarting.Latency.P99)} ms while "
                    + $"{Fmt.N(calls)} calls start ({Fmt.D(with.Starting.TotalSeconds, "0.00")} s), {Fmt.Ms(with.InFlight.Latency.P99)} ms while they run; "
                    + $"{Fmt.N(with.Calls)} at once, thread-pool queue ≤ {Fmt.N(with.Max[ThreadPoolQueue])}");
            }
            var w = with!;
            rounds.Add(new AiRound(round, without!, w.WhileStarting, w.InFlight, w.Starting, w.Calls, w.Max[ThreadPoolQueue], w.Max[ThreadPoolThreads],
                w.Max["im_ai_queue_length"], w.Replies, w.Within, w.EventsPerCall));
        }
        if (profiler.Enabled)
        {
            Results.Profiles["ai"] = await profiler.Trace(_im.Server.Process, "ai", settings.AiWindow + TimeSpan.FromSeconds(1),
                () => ProbeWithAiCalls(probeRate, patients, calls));
        }
        var pieces = (await AiStats()).GetProperty("pieces").GetInt32();
        return new AiResult(rounds, probeRate, calls, groupCount, pieces);
    }

    private sealed record AiEpisode(LoopResult WhileStarting, LoopResult InFlight, TimeSpan Starting, double Calls,
        IReadOnlyDictionary<string, double> Max, long Replies, TimeSpan Within, double EventsPerCall);

    private const string FanoutEvents = "im_fanout_events_total";

    private const string ThreadPoolQueue = "dotnet_thread_pool_queue_length_total";
    private const string ThreadPoolThreads = "dotnet_thread_pool_thread_count_total";

    private Task<LoopResult> Probe(double rate, TimeSpan window, CancellationToken stop = default) =>
        Load.Open(new Schedule(rate, window), 1024, Meter(_im), index =>
        {
            var group = _imSendGroups[(int)(index % _imSendGroups.Count)];
            return Load.Send(_http, _im, group.Id, group.Members[(int)(index / _imSendGroups.Count % 2)], Content);
        }, stop);

    /// <summary>
    /// The patients' questions go out as fast as 64 clients can send them, with the probe running;
    /// once all are sent (every call started or queued), a second probe runs for the window while
    /// the calls are in flight and their replies are stored.
    /// </summary>
    private async Task<AiEpisode> ProbeWithAiCalls(double rate, List<BenchGroup> patients, int calls)
    {
        await _http.PostAsync(new Uri(_ai.Base, "/stats/reset"), null);
        var before = await Scrape.From(_http, _im.Server.Base);
        var publishedBefore = await Servers.RedisPublishes(_redisPort);
        var repliesBefore = before.Sum("im_messages_stored_total", "msg_type=\"AI_REPLY\"");
        var sampler = new MetricsSampler(_http, _im.Server.Base, TimeSpan.FromMilliseconds(200), ThreadPoolQueue, ThreadPoolThreads,
            "im_ai_calls_in_flight", "im_ai_queue_length");
        sampler.Start();
        var started = Stopwatch.GetTimestamp();
        using var sent = new CancellationTokenSource();
        var whileStarting = Probe(rate, TimeSpan.FromSeconds(60), sent.Token);
        await Parallel.ForEachAsync(Enumerable.Range(0, calls), new ParallelOptions { MaxDegreeOfParallelism = Settings.InFlight }, async (i, _) =>
        {
            var group = patients[i % patients.Count];
            await Load.Send(_http, _im, group.Id, group.Members[1], "a patient's question for the stand-in AI");
        });
        var starting = Stopwatch.GetElapsedTime(started);
        await sent.CancelAsync();
        var first = await whileStarting;
        var inFlight = await Probe(rate, settings.AiWindow);
        long replies = 0;
        try
        {
            await Servers.Until(async () =>
            {
                replies = (long)((await Scrape.From(_http, _im.Server.Base)).Sum("im_messages_stored_total", "msg_type=\"AI_REPLY\"") - repliesBefore);
                return replies >= calls;
            }, "the AI replies", timeout: TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            // Reported as fewer replies than calls.
        }
        var within = Stopwatch.GetElapsedTime(started);
        var max = await sampler.Stop();
        var stats = await AiStats();
        // Every event the store published (the patients hold no socket, so no node reads their groups' channels),
        // less the probe's own sends (one event each), per call: the patient's message and everything its AI
        // record publishes (states, pieces, the reply).
        var events = await Servers.RedisPublishes(_redisPort) - publishedBefore;
        var probeSends = first.Ok + inFlight.Ok;
        return new AiEpisode(first, inFlight, starting, stats.GetProperty("max_in_flight").GetDouble(), max, replies, within,
            (events - probeSends) / calls);
    }

    private async Task<JsonElement> AiStats() =>
        JsonDocument.Parse(await _http.GetStringAsync(new Uri(_ai.Base, "/stats"))).RootElement.Clone();

    /// <summary>Users for the idle sockets, created once through ImAkka: ten sockets each, as ten devices would be.</summary>
    private async Task<List<string>> MemoryUsers()
    {
        var count = Math.Max(1, settings.MemoryLevels.Max() / settings.SocketsPerUser);
        var users = new string[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (i, _) => users[i] = await _im.CreateUser(_http, "PATIENT"));
        return [.. users];
    }

    private async Task<List<MemoryRound>> IdleMemory(List<string> users)
    {
        Progress.Phase($"idle WebSocket memory at {string.Join(", ", settings.MemoryLevels.Select(l => Fmt.N(l)))} connections: "
            + "ImAkka vs a bare Kestrel echo (RSS delta per connection)");
        var rounds = new List<MemoryRound>();
        var heaps = new Dictionary<bool, (Dictionary<string, GcType>? With, Dictionary<string, GcType>? Without)>();
        for (var round = 0; round < settings.Rounds; round++)
        {
            var bases = new Dictionary<bool, long>();
            var deltas = new Dictionary<bool, long[]>();
            // The last round also weighs the heaps, after its RSS figures are taken: a gcdump forces a full GC.
            var weigh = profiler.Enabled && round == settings.Rounds - 1;
            foreach (var imakka in round % 2 == 0 ? new[] { true, false } : [false, true])
            {
                var server = imakka
                    ? await Servers.StartImAkka(paths, $"imakka-idle{round + 1}", _redisPort, "im:", AiEndpoint)
                    : await Servers.StartBaseline(paths, $"echo{round + 1}", "echo");
                var sockets = new List<PushSocket>();
                try
                {
                    var baseline = bases[imakka] = await SettledRss(server.Process);
                    var levels = deltas[imakka] = new long[settings.MemoryLevels.Length];
                    for (var l = 0; l < settings.MemoryLevels.Length; l++)
                    {
                        var level = settings.MemoryLevels[l];
                        var uris = Enumerable.Range(sockets.Count, level - sockets.Count).Select(i => server.Ws(users[i % users.Count])).ToList();
                        sockets.AddRange(await PushSocket.ConnectMany(uris, _ws, awaitConnected: imakka, sockets.Count, receiveBuffer: 1024));
                        levels[l] = await SettledRss(server.Process) - baseline;
                        Progress.Step($"round {round + 1}/{settings.Rounds} {server.Name}: {Fmt.N(level)} sockets, "
                            + $"{Fmt.Kb((double)levels[l] / level)} KB each");
                    }
                    if (weigh)
                    {
                        var with = await profiler.GcDump(server.Process, server.Name + "-with-sockets");
                        foreach (var socket in sockets) socket.Abort();
                        await SocketsClosed(server, imakka);
                        heaps[imakka] = (with, await profiler.GcDump(server.Process, server.Name + "-after-close"));
                    }
                }
                finally
                {
                    await server.Process.Kill();
                    foreach (var socket in sockets) socket.Abort();
                    foreach (var socket in sockets) await socket.DisposeAsync();
                }
            }
            rounds.Add(new MemoryRound(round, bases[true], bases[false],
                settings.MemoryLevels.Select((level, l) => new MemoryLevel(level, deltas[true][l], deltas[false][l])).ToList()));
        }
        if (heaps.TryGetValue(true, out var im) && im.With is { } imWith && im.Without is { } imWithout)
        {
            var n = settings.MemoryLevels[^1];
            var echo = heaps.GetValueOrDefault(false);
            // What each type grew by with the sockets open; the rows are where ImAkka holds more than the echo.
            static Dictionary<string, GcType> Grown(Dictionary<string, GcType>? with, Dictionary<string, GcType>? without) =>
                (with?.Values.AsEnumerable() ?? []).Where(t => t.Type.Length > 0)
                .Select(t => new GcType(t.Type, t.Bytes - (without?.GetValueOrDefault(t.Type)?.Bytes ?? 0), t.Count - (without?.GetValueOrDefault(t.Type)?.Count ?? 0)))
                .ToDictionary(t => t.Type, StringComparer.Ordinal);
            var echoGrown = Grown(echo.With, echo.Without);
            var perType = Grown(imWith, imWithout).Values
                .Select(t => t with { EchoBytes = Math.Max(0, echoGrown.GetValueOrDefault(t.Type)?.Bytes ?? 0) })
                .Where(t => t.Bytes > t.EchoBytes).OrderByDescending(t => t.Bytes - t.EchoBytes).Take(15).ToList();
            Results.Gc = new GcSummary(n, imWith[""].Bytes, imWithout[""].Bytes, perType,
                echo.With?.GetValueOrDefault("")?.Bytes ?? 0, echo.Without?.GetValueOrDefault("")?.Bytes ?? 0);
        }
        return rounds;
    }

    /// <summary>Until the server has let go of the aborted sockets: ImAkka counts them; the echo is given a moment.</summary>
    private async Task SocketsClosed(Server server, bool imakka)
    {
        if (!imakka)
        {
            await Task.Delay(2000);
            return;
        }
        try
        {
            await Servers.Until(async () =>
            {
                await Task.Delay(350);
                return (await Scrape.From(_http, server.Base)).Sum("im_websocket_connections") == 0;
            }, "the idle sockets to close", timeout: TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            // The heap after is then an upper bound; the report says what it is.
        }
    }

    /// <summary>RSS once it stops moving: sampled every 250 ms until two samples agree within 0.5 %, at most a few seconds.</summary>
    private async Task<long> SettledRss(Child process)
    {
        await Task.Delay(settings.Quick ? 200 : 700);
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * (settings.Quick ? 1 : 4);
        var last = process.Rss;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(250);
            var now = process.Rss;
            if (Math.Abs(now - last) <= last * 0.005) return now;
            last = now;
        }
        return last;
    }

    private async Task<ColdResult> ColdStart()
    {
        const int passivateAfter = 1;
        Progress.Phase($"cold GroupActor: the first message after passivation (Im__PassivateAfterSeconds={passivateAfter}) vs the next one");
        var server = await Servers.StartImAkka(paths, "imakka-cold", _redisPort, "im:", AiEndpoint,
            new Dictionary<string, string> { ["Im__PassivateAfterSeconds"] = $"{passivateAfter}" });
        var target = new ImAkkaTarget(server);
        var rounds = new List<ColdRound>();
        try
        {
            var groups = await Setup.Groups(target, _http, settings.ColdGroups, Setup.Doctors(2));
            for (var round = 0; round < settings.Rounds; round++)
            {
                await Servers.Until(async () =>
                {
                    // The exporter answers from a cache for 300 ms; a fresh figure needs a fresh scrape.
                    await Task.Delay(350);
                    return (await Scrape.From(_http, server.Base)).Sum("im_group_actors") == 0;
                }, "every group actor to passivate", timeout: TimeSpan.FromSeconds(30));
                var cold = new List<double>();
                var warm = new List<double>();
                foreach (var group in groups)
                {
                    var started = Stopwatch.GetTimestamp();
                    await Load.Send(_http, target, group.Id, group.Members[0], Content);
                    cold.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                    started = Stopwatch.GetTimestamp();
                    await Load.Send(_http, target, group.Id, group.Members[1], Content);
                    warm.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                }
                var result = new ColdRound(round, new Latencies(cold), new Latencies(warm));
                rounds.Add(result);
                Progress.Step($"round {round + 1}/{settings.Rounds}: cold p50 {Fmt.Ms(result.Cold.P50)} ms, warm p50 {Fmt.Ms(result.Warm.P50)} ms");
            }
        }
        finally
        {
            await server.Process.Kill();
        }
        return new ColdResult(rounds, settings.ColdGroups, passivateAfter);
    }

    private async Task<List<ClusterRun>> Cluster()
    {
        const int groupCount = 12;
        const int members = 4;
        Progress.Phase($"two- and three-node clusters on loopback: each node's fan-out events vs the pushes it delivers");
        var akkaPorts = Enumerable.Range(0, 3).Select(_ => Ports.Free()).ToArray();
        var seeds = akkaPorts.Take(2).Select(p => $"akka.tcp://im@127.0.0.1:{p}").ToArray();
        Dictionary<string, string> NodeSettings(int i) => new()
        {
            ["Akka__Port"] = $"{akkaPorts[i]}",
            ["Akka__PublicHostname"] = "127.0.0.1",
            ["Akka__SeedNodes__0"] = seeds[0],
            ["Akka__SeedNodes__1"] = seeds[1],
        };
        var nodes = new List<Server>();
        var runs = new List<ClusterRun>();
        try
        {
            nodes.AddRange(await Task.WhenAll(Enumerable.Range(0, 2).Select(i =>
                Servers.StartImAkka(paths, $"node{i + 1}", _redisPort, "cl:", AiEndpoint, NodeSettings(i)))));
            await ClusterUp(nodes);
            var first = new ImAkkaTarget(nodes[0]);
            var groups = await Setup.Groups(first, _http, groupCount, Setup.Doctors(members));
            runs.Add(await ClusterRound(nodes, groups, members, skewed: false));
            nodes.Add(await Servers.StartImAkka(paths, "node3", _redisPort, "cl:", AiEndpoint, NodeSettings(2)));
            await ClusterUp(nodes);
            runs.Add(await ClusterRound(nodes, groups, members, skewed: false));
            runs.Add(await ClusterRound(nodes, groups, members, skewed: true));
        }
        finally
        {
            foreach (var node in nodes) await node.Process.Kill();
        }
        return runs;
    }

    /// <summary>Until every node sees every node Up (the ops view), so shards are placed over all of them.</summary>
    private async Task ClusterUp(List<Server> nodes) =>
        await Servers.Until(async () =>
        {
            foreach (var node in nodes)
            {
                using var view = JsonDocument.Parse(await _http.GetStringAsync(new Uri(node.Base, "/api/ops/cluster")));
                var up = view.RootElement.GetProperty("members").EnumerateArray().Count(m => m.GetProperty("status").GetString() == "Up");
                if (up != nodes.Count) return false;
            }
            return true;
        }, $"{nodes.Count} nodes Up in one cluster", timeout: TimeSpan.FromSeconds(60));

    /// <summary>
    /// Each group's members connect to one node (group g to node g mod N, or all to node 1 when
    /// skewed), senders send through node g mod N, and each node's counters say how many events its
    /// fan-out read and how many pushes it made.
    /// </summary>
    private async Task<ClusterRun> ClusterRound(List<Server> nodes, List<BenchGroup> groups, int members, bool skewed)
    {
        var n = nodes.Count;
        int SocketsOn(int g) => skewed ? 0 : g % n;
        var targets = nodes.Select(node => new ImAkkaTarget(node)).ToList();
        var sockets = new List<PushSocket>();
        var uris = new List<Uri>();
        foreach (var (group, g) in groups.Select((group, g) => (group, g)))
            uris.AddRange(group.Members.Select(m => nodes[SocketsOn(g)].Ws(m)));
        sockets.AddRange(await PushSocket.ConnectMany(uris, _ws, awaitConnected: true));
        try
        {
            var messages = settings.ClusterMessages;
            var sink = new PushSink(NextTag(), messages, sockets.Count, members, trackCompletion: false);
            foreach (var socket in sockets) socket.Sink = sink;
            await Task.Delay(350);
            var before = await Task.WhenAll(nodes.Select(node => Scrape.From(_http, node.Base)));
            long failures = 0;
            var perGroup = new long[groups.Count];
            await Parallel.ForEachAsync(Enumerable.Range(0, messages), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
            {
                var g = i % groups.Count;
                sink.SentAt(i, Stopwatch.GetTimestamp());
                var seq = await Load.Send(_http, targets[g % n], groups[g].Id, groups[g].Members[i / groups.Count % members], $"{sink.Tag}:{i}");
                if (seq < 0) Interlocked.Increment(ref failures);
                else Interlocked.Increment(ref perGroup[g]);
            });
            var expected = perGroup.Sum() * members;
            try
            {
                await Servers.Until(() => Task.FromResult(sink.Received >= expected), "the cluster's pushes", timeout: settings.Drain);
            }
            catch (TimeoutException)
            {
                // Counted as lost.
            }
            await Task.Delay(350);
            var after = await Task.WhenAll(nodes.Select(node => Scrape.From(_http, node.Base)));
            var perNode = Enumerable.Range(0, n).Select(i =>
            {
                long Delta(string name, string? label = null) => (long)(after[i].Sum(name, label) - before[i].Sum(name, label));
                var own = Enumerable.Range(0, groups.Count).Where(g => SocketsOn(g) == i).Sum(g => perGroup[g]);
                return new NodeFanout(i + 1, Enumerable.Range(0, groups.Count).Count(g => SocketsOn(g) == i) * members,
                    Delta(FanoutEvents), own, Delta("im_pushes_total"), own * members,
                    Delta("im_messages_stored_total", "msg_type=\"TEXT\""));
            }).ToList();
            foreach (var node in perNode)
            {
                Progress.Step($"{n} nodes{(skewed ? " (all sockets on node 1)" : "")}, node {node.Node}: fan-out read {Fmt.N(node.EventsReceived)} events for "
                    + $"{Fmt.N(node.EventsForOwnSockets)} with its own sockets ({Fmt.R(node.Ratio)}×), {Fmt.N(node.PushesDelivered)} pushes");
            }
            return new ClusterRun(n, messages, failures, expected, sink.Received, perNode, skewed);
        }
        finally
        {
            foreach (var socket in sockets) await socket.DisposeAsync();
        }
    }
}
