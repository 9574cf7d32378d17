using System.Text;

namespace ImAkka.Bench;

/// <summary>
/// For each missed target, what this run's figures and profiles say bounds it. The sentences are
/// written from the numbers of the run, so a later run that moves a number moves the explanation.
/// </summary>
public static class Explain
{
    public static void Section(StringBuilder md, Results r, List<Headline> headlines, Settings settings)
    {
        md.AppendLine(Report.Sections[12]);
        md.AppendLine();
        var missed = headlines.Where(h => h.Met == false).ToList();
        if (missed.Count == 0)
        {
            md.AppendLine("Every target is met in this run.");
            md.AppendLine();
            return;
        }
        if (settings.Quick) md.AppendLine("*(A `--quick` run: these paragraphs are written from figures too small to judge by, and without profiles.)*\n");
        foreach (var h in missed)
        {
            md.AppendLine($"**{h.Figure}** — target {h.Target}, measured {(h.Ratio.Rounds == 0 ? h.ImAkka : h.Ratio.Ratio)}.");
            md.AppendLine();
            md.AppendLine(h.Key switch
            {
                "sends" => Sends(r),
                "hot" => Hot(r),
                "lost" => Lost(r),
                "memory" => Memory(r),
                "ai" => Ai(r),
                "cluster" => Cluster(r),
                _ when h.Key.StartsWith("fanout", StringComparison.Ordinal) => Fanout(r, int.Parse(h.Key["fanout".Length..], System.Globalization.CultureInfo.InvariantCulture)),
                _ => "",
            });
            md.AppendLine();
        }
    }

    private static double M(IEnumerable<double> values) => Headlines.Median(values);

    private static string Cores(double c) => Fmt.D(c, "0.00");

    private static string Sends(Results r)
    {
        var im = M(r.Sends.Select(x => x.ImAkka.Rate));
        var bare = M(r.Sends.Select(x => x.Baseline.Rate));
        var imCores = M(r.Sends.Select(x => x.ImAkka.Cpu.ServerCores));
        var bareCores = M(r.Sends.Select(x => x.Baseline.Cpu.ServerCores));
        var imUs = M(r.Sends.Select(x => Headlines.CpuPerMessage(x.ImAkka)));
        var bareUs = M(r.Sends.Select(x => Headlines.CpuPerMessage(x.Baseline)));
        var total = M(r.Sends.Select(x => x.ImAkka.Cpu.ServerCores + x.ImAkka.Cpu.RedisCores + x.ImAkka.Cpu.LoadGeneratorCores));
        var cores = r.Machine.Cores;
        var sb = new StringBuilder();
        sb.Append($"ImAkka stored {Fmt.N(im)} messages a second using {Cores(imCores)} cores, {Fmt.D(imUs, "0")} µs of CPU per message; the bare endpoint "
            + $"stored {Fmt.N(bare)} using {Cores(bareCores)} cores, {Fmt.D(bareUs, "0")} µs each — ImAkka spends {Fmt.R(imUs / bareUs)}× the CPU on a message. ");
        sb.Append(total >= cores * 0.85
            ? $"With Redis and the load generator the machine's {cores} cores were busy ({Cores(total)} of {cores} while ImAkka ran), so CPU per message is the bound: "
              + $"at equal CPU ImAkka's rate is the baseline's divided by that factor. "
            : $"The machine was not full ({Cores(total)} of {cores} cores with Redis and the load generator), so the bound is waiting as much as work: "
              + $"of the {Settings.InFlight} sends in flight at most {Settings.SendGroups} can be appending, one per group, since each GroupActor writes one "
              + $"message at a time and stashes the rest; each group completed an append every {Fmt.D(Settings.SendGroups * 1_000_000 / im, "0")} µs, "
              + "a Redis round trip plus the hops from endpoint to shard region to actor and back. ");
        sb.Append(ProfileSentence(r, "sends"));
        return sb.ToString();
    }

    private static string Hot(Results r)
    {
        var im = M(r.Hot.Rounds.Select(x => x.ImAkka.Rate));
        var bare = M(r.Hot.Rounds.Select(x => x.Baseline.Rate));
        var imCores = M(r.Hot.Rounds.Select(x => x.ImAkka.Cpu.ServerCores));
        var redis = M(r.Hot.Rounds.Select(x => x.ImAkka.Cpu.RedisCores));
        var p50 = M(r.Hot.Rounds.Select(x => x.ImAkka.Latency.P50));
        var perMessage = 1_000_000 / im;
        var sb = new StringBuilder();
        sb.Append($"The group's single writer does one store round trip per message and stashes every other command meanwhile (`SingleWriterActor.RunWrite`): "
            + $"{Fmt.N(im)} messages a second is one append every {Fmt.D(perMessage, "0")} µs, and each of the 64 senders waits its turn behind the other 63 "
            + $"(p50 {Fmt.Ms(p50)} ms ≈ 64 × {Fmt.D(perMessage, "0")} µs). The host used {Cores(imCores)} cores and Redis {Cores(redis)}: ");
        sb.Append(imCores < r.Machine.Cores * 0.75
            ? "the machine was not full, so the bound is the serial chain (the append's round trip through StackExchange.Redis plus the actor's "
              + "dispatch, unstash and reply), not CPU. "
            : "the machine was full as well, so the serial chain and the CPU per message both bound it. ");
        sb.Append($"The bare endpoint sends the same 64 appends concurrently, pipelined on one connection, and Redis alone orders them (`seq` stays gap-free "
            + $"because HINCRBY takes it inside the script): {Fmt.N(bare)} a second. ");
        sb.Append(ProfileSentence(r, "hot"));
        return sb.ToString();
    }

    private static string Fanout(Results r, int size)
    {
        var s = r.Fanout.First(f => f.Size == size);
        var (load, cells, ratio) = Headlines.WorstLoad(s);
        var imP99 = M(cells.Select(c => c.ImAkka.Push.P99));
        var bareP99 = M(cells.Select(c => c.Baseline.Push.P99));
        var imP50 = M(cells.Select(c => c.ImAkka.Push.P50));
        var imUs = M(cells.Select(c => c.ImAkka.CpuMicrosPerPush));
        var bareUs = M(cells.Select(c => c.Baseline.CpuMicrosPerPush));
        var cores = M(cells.Select(c => c.ImAkka.Cpu.ServerCores + c.ImAkka.Cpu.RedisCores + c.ImAkka.Cpu.LoadGeneratorCores));
        var sb = new StringBuilder();
        sb.Append($"At {load:P0} of ImAkka's delivered maximum ({Fmt.N(cells[0].Rate)} msg/s, {Fmt.N(cells[0].Rate * size)} pushes/s) ImAkka's push p99 was "
            + $"{Fmt.Ms(imP99)} ms (p50 {Fmt.Ms(imP50)}) against the bare broadcaster's {Fmt.Ms(bareP99)} ms, a ratio of {ratio.Ratio}. ");
        sb.Append($"Each push costs ImAkka {Fmt.D(imUs)} µs of CPU against {Fmt.D(bareUs)} µs; the machine ran at {Cores(cores)} of {r.Machine.Cores} cores. "
            + $"ImAkka's delivered maximum here is {Fmt.N(s.MaxImAkka.Rate)} msg/s against the bare server's {Fmt.N(s.MaxBaseline.Rate)}, so the same rate is "
            + $"{Fmt.D(100 * cells[0].Rate / Math.Max(1, s.MaxBaseline.Rate), "0")} % of the baseline's capacity and {load:P0} of ImAkka's: the tail is queueing "
            + "in front of the one SessionsActor per node, which reads its groups' events in order and tells each SessionActor the frame (written once), "
            + "each session then queuing it for its socket's pump — two mailbox hops per push that the bare broadcaster does not have. ");
        sb.Append(ProfileSentence(r, "fanout"));
        return sb.ToString();
    }

    private static string Lost(Results r) =>
        $"ImAkka lost {Fmt.N(Headlines.LostImAkka(r))} pushes over the fan-out cells (the bare broadcaster {Fmt.N(Headlines.LostBaseline(r))}); a push counts as lost "
        + "when it has not arrived within the drain window after the last send, so a backlog that outlasts it counts too. Sessions that cannot keep up are "
        + "closed with 1013 once 1,024 frames wait; the per-size tables show which cells lost them.";

    private static string Memory(Results r)
    {
        var im = Headlines.MemoryPerConnection(r);
        var echo = Headlines.EchoPerConnection(r);
        var sb = new StringBuilder();
        sb.Append($"An idle ImAkka socket costs the host {Fmt.Kb(im)} KB of RSS against the bare echo's {Fmt.Kb(echo)} KB ({Headlines.MemoryRatio(r).Ratio}). ");
        if (r.Gc is { } gc)
        {
            var heap = (double)(gc.HeapWith - gc.HeapWithout) / gc.Connections;
            var echoHeap = (double)(gc.EchoHeapWith - gc.EchoHeapWithout) / gc.Connections;
            sb.Append($"Of that, live managed objects are {Fmt.Kb(heap)} KB per socket (gcdump, after a full GC) against the echo's {Fmt.Kb(echoHeap)} KB; "
                + $"where it holds most beyond the echo: {string.Join(", ", gc.PerConnection.Take(6).Select(t => $"`{t.Type}` {Fmt.N((double)(t.Bytes - t.EchoBytes) / gc.Connections)} B"))}. ");
            sb.Append($"The remaining {Fmt.Kb(im - heap)} KB per socket is not live data: heap the GC has not given back (Server GC keeps a heap per core and "
                + "grows them ahead of need; every session allocates its actor, mailbox, outbound queue and buffers when it opens), "
                + "and the native side of each connection. ");
        }
        else sb.Append("No heap dump in this run (dotnet-gcdump not installed), so the split between live objects and GC headroom is not measured. ");
        return sb.ToString();
    }

    private static string Ai(Results r)
    {
        var running = M(r.Ai.Rounds.Select(x => x.InFlight.Latency.P99));
        var starting = M(r.Ai.Rounds.Select(x => x.WhileStarting.Latency.P99));
        var without = M(r.Ai.Rounds.Select(x => x.Without.Latency.P99));
        var queue = M(r.Ai.Rounds.Select(x => x.MaxThreadPoolQueue));
        var threads = M(r.Ai.Rounds.Select(x => x.MaxThreadPoolThreads));
        var hostWithout = M(r.Ai.Rounds.Select(x => x.Without.Cpu.ServerCores));
        var hostRunning = M(r.Ai.Rounds.Select(x => x.InFlight.Cpu.ServerCores));
        var hostStarting = M(r.Ai.Rounds.Select(x => x.WhileStarting.Cpu.ServerCores));
        var redisStarting = M(r.Ai.Rounds.Select(x => x.WhileStarting.Cpu.RedisCores));
        var redisRunning = M(r.Ai.Rounds.Select(x => x.InFlight.Cpu.RedisCores));
        var sb = new StringBuilder();
        sb.Append($"Non-AI p99 was {Fmt.Ms(without)} ms alone, {Fmt.Ms(starting)} ms while the {Fmt.N(r.Ai.Calls)} patients' messages went in and the calls "
            + $"started, and {Fmt.Ms(running)} ms while {Fmt.N(M(r.Ai.Rounds.Select(x => x.MaxCallsAtOnce)))} calls ran and were answered. ");
        sb.Append(queue > 100
            ? $"The thread pool's queue reached {Fmt.N(queue)} work items with only {Fmt.N(threads)} threads: work waited for a thread. "
            : $"The thread pool's queue stayed at {Fmt.N(queue)} work items or fewer ({Fmt.N(threads)} threads at most): the calls themselves do not hold threads. ");
        sb.Append($"The host used {Cores(hostWithout)} cores alone, {Cores(hostStarting)} while the calls started and {Cores(hostRunning)} while they ran; Redis "
            + $"{Cores(redisStarting)} and {Cores(redisRunning)}. ");
        var events = M(r.Ai.Rounds.Select(x => x.EventsPerCall));
        sb.Append("What runs beside the probe is the AI path's own work. A patient's append opens the AI record in the same script and publishes "
            + "`thinking`; the group's single writer hands the attempt to the node's `AiPipelineActor` (a `Source.Queue` of `Ai__MaxQueued` feeding "
            + "`Ai__MaxConcurrency` calls, unordered), which reads the context the record fixed (`ImStore.MessagesInRange`: a range read and one hash "
            + "read per message, up to `Ai__ContextMessages`=20), publishes `generating` and at most one `ai_delta` per 100 ms while the answer "
            + "streams in, and the finished answer is one more append through the group's writer, which publishes the reply and `done`. "
            + $"Each call cost {Fmt.D(events, "0.0")} events published on its group's channel (Redis's PUBLISH count), of which the {r.Ai.Pieces} streamed "
            + "pieces are most; a node reads them only where a member of the group holds a socket, and here none does, so what remains is each event's "
            + "PUBLISH inside the store's step and the host's one Redis connection, which the probe's appends share. "
            + $"Over the 1–2 s the answers take, that is about {Fmt.N(r.Ai.Calls * Math.Max(0, events - 2) / 1.5)} events a second (all but the message "
            + $"and `thinking` come while the calls run), beside the probe's {Fmt.N(r.Ai.ProbeRate)} sends. ");
        sb.Append(ProfileSentence(r, "ai"));
        return sb.ToString();
    }

    private static string Cluster(Results r)
    {
        var run = Headlines.LargestCluster(r);
        if (run is null) return "";
        var sb = new StringBuilder();
        sb.Append($"With {run.Nodes} nodes the nodes read "
            + string.Join(", ", run.PerNode.Select(n => $"{Fmt.N(n.EventsReceived)} (node {n.Node})"))
            + $" events for {Fmt.N(run.Messages)} messages, of which "
            + string.Join(", ", run.PerNode.Select(n => Fmt.N(n.EventsForOwnSockets)))
            + " had a recipient with a socket there: a node subscribes to a group's channel while it holds a socket of one of its members, so "
            + "it reads only those groups' events, and its work grows with its own sockets' groups, not with the cluster's traffic. ");
        if (Headlines.SkewedCluster(r) is { } skewed)
            sb.Append("With every socket on node 1, the others read "
                + string.Join(", ", skewed.PerNode.Skip(1).Select(n => $"{Fmt.N(n.EventsReceived)} (node {n.Node})"))
                + $" of the fan-out's events, node 1 {Fmt.N(skewed.PerNode[0].EventsReceived)}. ");
        sb.Append(ProfileSentence(r, "fanout"));
        return sb.ToString();
    }

    /// <summary>What the phase's profile says, in one sentence, or why there is none.</summary>
    private static string ProfileSentence(Results r, string name)
    {
        if (!r.Profiles.TryGetValue(name, out var p) || p is null) return "(No profile of this phase in this run.)";
        var areas = string.Join(", ", p.WorkAreas.Take(4).Select(a => $"{a.Name} {Fmt.D(a.Percent, "0")} %"));
        var methods = string.Join(", ", p.InclusiveOwn.Take(4).Select(m => $"`{m.Name}` {Fmt.D(m.Percent, "0")} %"));
        var hot = string.Join(", ", p.Exclusive.Take(3).Select(m => $"`{m.Name}` {Fmt.D(m.Percent, "0")} %"));
        return $"The profile of this load ([{name}](#profile-{name})): {Fmt.D(p.OverheadPercent, "0")} % of ImAkka's managed samples are threads meeting "
            + $"rather than working (thread-pool spinning and waking, contended locks, StackExchange.Redis's I/O threads looping, GC stops); the work "
            + $"itself is {areas}; the ImAkka and Akka frames most on the stack are {methods}; the methods most often running: {hot}.";
    }
}
