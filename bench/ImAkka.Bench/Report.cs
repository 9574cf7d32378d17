using System.Text;

namespace ImAkka.Bench;

/// <summary>
/// docs/BENCHMARKS.md: the summary against the targets, the chart, every raw figure, and for each
/// missed target what the measurements and the profile say bounds it. Every section is always
/// written, so a quick run proves the report is whole even when its figures mean nothing.
/// </summary>
public static class Report
{
    public static readonly string[] Sections =
    [
        "## Summary",
        "## The machine and the run",
        "## How it is measured",
        "## 1. Sends over many groups",
        "## 2. One hot group",
        "## 3. Fan-out latency",
        "## 4. Idle WebSocket memory",
        "## 5. AI forwarding",
        "## 6. Cold GroupActor",
        "## 7. CPU per delivered message",
        "## 8. Two and three nodes",
        "## 9. The load generator's own cost",
        "## 10. What bounds each missed target",
        "## Profiles",
        "## Running it",
    ];

    public static string Write(Results r, Settings settings, string chartRelative)
    {
        var md = new StringBuilder();
        var headlines = Headlines.All(r);
        md.AppendLine("# Benchmarks");
        md.AppendLine();
        md.AppendLine(settings.Quick
            ? "> **A `--quick` run**: every phase once, tiny and short, to prove the harness works. Its figures judge nothing."
            : "Written by `scripts/bench.sh` (the whole file, chart included); rerun it to judge a change.");
        md.AppendLine();
        md.AppendLine($"Measured {r.Machine.Date} at commit `{r.Machine.Commit}` on {r.Machine.Cores} cores ({r.Machine.Cpu}), "
            + $"in {Fmt.D(r.Duration.TotalMinutes, "0.0")} minutes. Each figure is ImAkka against a baseline measured in the same run, the two "
            + $"alternating round by round ({settings.Rounds} rounds); a ratio is the median of the per-round ratios, with their spread "
            + "(lowest–highest) in parentheses, and the raw figures stand beside it. The machine is shared and a single round can swing "
            + "by a factor of two, so read the spread before the median.");
        md.AppendLine();

        md.AppendLine(Sections[0]);
        md.AppendLine();
        md.AppendLine("| figure | target | ImAkka | baseline | ratio | |");
        md.AppendLine("|---|---|---|---|---|---|");
        foreach (var h in headlines)
            md.AppendLine($"| {h.Figure} | {h.Target} | {h.ImAkka} | {h.Baseline} | {(h.Ratio.Rounds == 0 ? "—" : h.Ratio.Ratio)} | {h.Verdict} |");
        md.AppendLine();
        md.AppendLine($"![ImAkka against its baselines, median ratio per figure with its spread, and each target]({chartRelative})");
        md.AppendLine();
        md.AppendLine("Ratios are ImAkka ÷ baseline: for throughput higher is better, for latency, memory and work lower is better. "
            + "The per-node fan-out ratio is a node's events read ÷ the events its own sockets needed (the spread is over the nodes); "
            + "the cold start is cold ÷ warm.");
        md.AppendLine();

        MachineSection(md, r, settings);
        MethodSection(md, settings);
        SendsSection(md, r);
        HotSection(md, r);
        FanoutSection(md, r);
        MemorySection(md, r);
        AiSection(md, r);
        ColdSection(md, r);
        CpuSection(md, r);
        ClusterSection(md, r);
        LoadGeneratorSection(md, r);
        Explain.Section(md, r, headlines, settings);
        ProfilesSection(md, r, settings);
        RunningSection(md);
        return md.ToString();
    }

    private static void MachineSection(StringBuilder md, Results r, Settings settings)
    {
        var m = r.Machine;
        md.AppendLine(Sections[1]);
        md.AppendLine();
        md.AppendLine("| | |");
        md.AppendLine("|---|---|");
        md.AppendLine($"| CPU | {m.Cpu}, {m.Cores} cores |");
        md.AppendLine($"| memory | {m.Memory} |");
        md.AppendLine($"| system | {m.Os}, Linux {m.Kernel} |");
        md.AppendLine($"| runtime | {m.Dotnet}; Server GC as each project ships (ImAkka and the baselines alike) |");
        md.AppendLine($"| Redis | {m.Redis}, on loopback, no persistence |");
        md.AppendLine($"| commit | `{m.Commit}` |");
        md.AppendLine($"| date | {m.Date} |");
        md.AppendLine($"| load average (1, 5, 15 min) | {m.LoadAverage} before, {r.LoadAverageAfter} after |");
        md.AppendLine($"| open files (ulimit -n) | {m.FileLimit} |");
        md.AppendLine($"| run | {(settings.Quick ? "`--quick`" : "full")}, {Fmt.D(r.Duration.TotalSeconds, "0")} s |");
        md.AppendLine();
    }

    private static void MethodSection(StringBuilder md, Settings settings)
    {
        md.AppendLine(Sections[2]);
        md.AppendLine();
        md.AppendLine($"""
            - **One run, one machine.** `scripts/bench.sh` builds, starts `redis-server` (loopback, no persistence: the disk is the same
              for every server and would add only the shared machine's I/O noise), ImAkka (`src/Im.Host`, Header mode, external Redis,
              `Im__SendRatePerSecond=0`, `Im__MaxConnectionsPerUser=100000`, `Ai__MaxConcurrency=1000`, logs at Warning: the baselines
              write no request lines either) and the baselines of `bench/Baselines`, each its own process, and drives them all from one
              load generator, `bench/ImAkka.Bench`, also its own process (workstation GC, so its heaps do not compete with the servers').
            - **The bare server** (baseline of sends, the hot group and fan-out) is ImAkka's message path without actors: the body read
              and checked by the same `RequestReader`, the sender checked against the group's members held in memory, and one
              `ImStore.AppendMessage` — the very Lua script ImAkka runs (HINCRBY seq, HSET message, ZADD timeline, PUBLISH, the lookup by id beside it), with
              the same keys and event payload — called straight from the Kestrel endpoint, concurrently. Its broadcaster reads each group's
              channel in order (a `ChannelMessageQueue`, subscribed when the group is set up), reads each typed event and writes its frame,
              made once, to each local socket of each recipient through a bounded queue and one pump per socket, as ImAkka's sessions do,
              so the sends phase compares like with like. **The echo** (baseline of idle memory) is a bare Kestrel
              WebSocket that echoes. **The stand-in AI** answers chat completions in 1–2 s, streamed as server-sent events in ten
              pieces when asked (ImAkka asks, `Ai__Stream=true`), a plain JSON body otherwise.
            - **Alternation.** Every phase runs ImAkka and its baseline in turn, ImAkka first in odd rounds and second in even ones, and
              reports the median of the per-round ratios with their spread. {settings.Rounds} rounds here.
            - **Closed loops** (sends, hot group): {Settings.InFlight} workers with one request each in flight; {Fmt.D(settings.Warmup.TotalSeconds)} s warm-up,
              then {Fmt.D(settings.Measure.TotalSeconds)} s measured; a request counts when it completes inside the measured window. Latency is the HTTP send's.
            - **Fan-out** is open loop: message *i* is due at *start + i/rate* whatever happened before it, and each push's latency counts
              from when its message was due (no coordinated omission). The rate is a fraction of ImAkka's *delivered* maximum, measured
              first by a closed loop in which a message is done only when every member's socket has it (a send is answered before its
              pushes go out, so sends alone would overstate it); the baseline is driven at the same rates. Every member of every group has
              a socket; each socket checks that `seq` rises by one from frame to frame. A push not received within {Fmt.D(settings.Drain.TotalSeconds)} s of the
              last send is lost.
            - **CPU** is utime + stime from `/proc/<pid>/stat` over the measured window, per process: the server, Redis and the load
              generator. **Memory** is the server's RSS (`VmRSS`) once it settles, minus its RSS before the sockets opened, divided by the
              sockets; the last round also weighs the managed heap with `dotnet-gcdump` (it forces a full GC, so that comes after the RSS figures).
            - **Profiles** are `dotnet-trace` samples (EventPipe's sample profiler) of ImAkka during one extra, unmeasured segment of
              the phase, summarized by the bench itself (see [Profiles](#profiles)); installed by the script outside the repository.
            """);
        md.AppendLine();
    }

    private static void SendsSection(StringBuilder md, Results r)
    {
        md.AppendLine(Sections[3]);
        md.AppendLine();
        md.AppendLine($"{Settings.SendGroups} groups of two doctors, {Settings.InFlight} sends in flight over REST (`POST /api/message/send` against the bare `POST /send`); no sockets are open. "
            + $"Ratio {Headlines.SendsRatio(r).Ratio}.");
        md.AppendLine();
        ThroughputTable(md, r.Sends);
    }

    private static void ThroughputTable(StringBuilder md, List<ThroughputRound> rounds)
    {
        md.AppendLine("| round | ImAkka msg/s | p50 ms | p99 ms | server cores | bare msg/s | p50 ms | p99 ms | server cores | Redis cores (ImAkka / bare) | ratio |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var (x, i) in rounds.Select((x, i) => (x, i)))
        {
            md.AppendLine($"| {i + 1} | {Fmt.N(x.ImAkka.Rate)} | {Fmt.Ms(x.ImAkka.Latency.P50)} | {Fmt.Ms(x.ImAkka.Latency.P99)} | {Fmt.D(x.ImAkka.Cpu.ServerCores, "0.00")} "
                + $"| {Fmt.N(x.Baseline.Rate)} | {Fmt.Ms(x.Baseline.Latency.P50)} | {Fmt.Ms(x.Baseline.Latency.P99)} | {Fmt.D(x.Baseline.Cpu.ServerCores, "0.00")} "
                + $"| {Fmt.D(x.ImAkka.Cpu.RedisCores, "0.00")} / {Fmt.D(x.Baseline.Cpu.RedisCores, "0.00")} | {Fmt.R(x.Ratio)} |");
        }
        md.AppendLine();
    }

    private static void HotSection(StringBuilder md, Results r)
    {
        var h = r.Hot;
        md.AppendLine(Sections[4]);
        md.AppendLine();
        md.AppendLine($"One group of {Settings.HotSenders} doctors, each sending with one request in flight; {Settings.HotReceivers} members hold a socket. Ratio {Headlines.HotRatio(r).Ratio}.");
        md.AppendLine();
        ThroughputTable(md, h.Rounds);
        md.AppendLine("| check | ImAkka | bare |");
        md.AppendLine("|---|---|---|");
        md.AppendLine($"| sends acknowledged (all rounds) | {Fmt.N(h.ImAkka.Acknowledged)} | {Fmt.N(h.Baseline.Acknowledged)} |");
        md.AppendLine($"| sends failed | {Fmt.N(h.ImAkka.Failed)} | {Fmt.N(h.Baseline.Failed)} |");
        md.AppendLine($"| distinct `seq` answered, highest `seq` | {Fmt.N(h.ImAkka.DistinctSeqs)}, {Fmt.N(h.ImAkka.MaxSeq)} | {Fmt.N(h.Baseline.DistinctSeqs)}, {Fmt.N(h.Baseline.MaxSeq)} |");
        md.AppendLine($"| `seq` gap-free (1…N, each once) | {(h.ImAkka.GapFree ? "yes" : "**no**")} | {(h.Baseline.GapFree ? "yes" : "**no**")} |");
        md.AppendLine($"| pushes received / expected on the sockets | {Fmt.N(h.ImAkka.PushesReceived)} / {Fmt.N(h.ImAkka.PushesExpected)} | {Fmt.N(h.Baseline.PushesReceived)} / {Fmt.N(h.Baseline.PushesExpected)} |");
        md.AppendLine($"| pushes out of order / after a gap | {h.ImAkka.OutOfOrder} / {h.ImAkka.Gaps} | {h.Baseline.OutOfOrder} / {h.Baseline.Gaps} |");
        md.AppendLine();
    }

    private static void FanoutSection(StringBuilder md, Results r)
    {
        md.AppendLine(Sections[5]);
        md.AppendLine();
        md.AppendLine("Push latency from when a message was due to when each member's socket read it, p50 / p99 / p99.9 in ms (medians over rounds); "
            + "the p99 ratio with its spread; pushes lost (ImAkka / bare, summed over rounds; must be 0); CPU per push in µs (server only).");
        md.AppendLine();
        foreach (var size in r.Fanout)
        {
            md.AppendLine($"**Group of {size.Size}** — {size.Groups} group(s), {size.Sockets} sockets. Delivered maximum: ImAkka {Fmt.N(size.MaxImAkka.Rate)} msg/s "
                + $"({Fmt.N(size.MaxImAkka.Rate * size.Size)} pushes/s), bare {Fmt.N(size.MaxBaseline.Rate)} msg/s.");
            md.AppendLine();
            md.AppendLine("| load | msg/s | ImAkka p50 / p99 / p99.9 | bare p50 / p99 / p99.9 | p99 ratio | lost | out of order, gaps | CPU µs/push ImAkka / bare |");
            md.AppendLine("|---|---|---|---|---|---|---|---|");
            foreach (var (load, cells) in Headlines.Loads(size))
            {
                double M(Func<FanoutCell, double> f) => Headlines.Median(cells.Select(f));
                md.AppendLine($"| {load:P0} | {Fmt.N(cells[0].Rate)} "
                    + $"| {Fmt.Ms(M(c => c.ImAkka.Push.P50))} / {Fmt.Ms(M(c => c.ImAkka.Push.P99))} / {Fmt.Ms(M(c => c.ImAkka.Push.P999))} "
                    + $"| {Fmt.Ms(M(c => c.Baseline.Push.P50))} / {Fmt.Ms(M(c => c.Baseline.Push.P99))} / {Fmt.Ms(M(c => c.Baseline.Push.P999))} "
                    + $"| {Spread.Of(cells.Select(c => c.P99Ratio)).Ratio} | {cells.Sum(c => c.ImAkka.Lost)} / {cells.Sum(c => c.Baseline.Lost)} "
                    + $"| {cells.Sum(c => c.ImAkka.OutOfOrder + c.Baseline.OutOfOrder)}, {cells.Sum(c => c.ImAkka.Gaps + c.Baseline.Gaps)} "
                    + $"| {Fmt.D(M(c => c.ImAkka.CpuMicrosPerPush))} / {Fmt.D(M(c => c.Baseline.CpuMicrosPerPush))} |");
            }
            md.AppendLine();
        }
    }

    private static void MemorySection(StringBuilder md, Results r)
    {
        md.AppendLine(Sections[6]);
        md.AppendLine();
        md.AppendLine("Fresh processes each round; sockets opened in steps and left idle (ImAkka's counted open at its `connected` frame, ten per user). "
            + "Figures are the host's RSS growth per connection in KB (1 KB = 1024 bytes), medians over rounds, with the ratio's spread.");
        md.AppendLine();
        md.AppendLine("| connections | ImAkka KB each | echo KB each | ratio | ImAkka KB each since the step before | echo, same |");
        md.AppendLine("|---|---|---|---|---|---|");
        if (r.Memory.Count > 0)
        {
            for (var l = 0; l < r.Memory[0].Levels.Count; l++)
            {
                var levels = r.Memory.Select(m => m.Levels[l]).ToList();
                var previous = l == 0 ? null : r.Memory.Select(m => m.Levels[l - 1]).ToList();
                // The growth between two steps leaves out what the first sockets paid once (heaps and pools sized up).
                string Step(Func<MemoryLevel, long> bytes) => previous is null ? "—"
                    : Fmt.Kb(Headlines.Median(levels.Zip(previous, (now, before) => (double)(bytes(now) - bytes(before)) / (now.Connections - before.Connections))));
                md.AppendLine($"| {Fmt.N(levels[0].Connections)} | {Fmt.Kb(Headlines.Median(levels.Select(x => x.ImAkkaPerConnection)))} "
                    + $"| {Fmt.Kb(Headlines.Median(levels.Select(x => x.EchoPerConnection)))} | {Spread.Of(levels.Select(x => x.Ratio)).Ratio} "
                    + $"| {Step(x => x.ImAkkaBytes)} | {Step(x => x.EchoBytes)} |");
            }
            md.AppendLine();
            md.AppendLine($"RSS before the sockets: ImAkka {Fmt.Kb(Headlines.Median(r.Memory.Select(m => (double)m.ImAkkaBase)) / 1024)} MB, "
                + $"echo {Fmt.Kb(Headlines.Median(r.Memory.Select(m => (double)m.EchoBase)) / 1024)} MB.");
        }
        md.AppendLine();
        if (r.Gc is { } gc)
        {
            md.AppendLine($"Managed heap (`dotnet-gcdump`, live objects after a full GC) at {Fmt.N(gc.Connections)} sockets and after they closed: "
                + $"ImAkka {Fmt.Kb((double)(gc.HeapWith - gc.HeapWithout) / gc.Connections)} KB per socket "
                + $"({Fmt.Kb(gc.HeapWith / 1024.0)} MB → {Fmt.Kb(gc.HeapWithout / 1024.0)} MB), echo "
                + $"{Fmt.Kb((double)(gc.EchoHeapWith - gc.EchoHeapWithout) / gc.Connections)} KB per socket. Where ImAkka's heap per idle socket goes beyond the echo's, by type, most first:");
            md.AppendLine();
            md.AppendLine("| type | ImAkka bytes per socket | echo bytes per socket | ImAkka objects per socket |");
            md.AppendLine("|---|---|---|---|");
            foreach (var t in gc.PerConnection)
                // A type name's '|' (compiler-made names have them) would end a table cell even inside backticks.
                md.AppendLine($"| `{t.Type.Replace("|", "\\|", StringComparison.Ordinal)}` | {Fmt.N((double)t.Bytes / gc.Connections)} | {Fmt.N((double)t.EchoBytes / gc.Connections)} | {Fmt.D((double)t.Count / gc.Connections, "0.0")} |");
        }
        else md.AppendLine("The heap by type is weighed only when dotnet-gcdump is installed (a full run; not `--quick`).");
        md.AppendLine();
    }

    private static void AiSection(StringBuilder md, Results r)
    {
        var ai = r.Ai;
        md.AppendLine(Sections[7]);
        md.AppendLine();
        md.AppendLine($"Non-AI sends (doctors, {Settings.SendGroups} groups) open loop at {Fmt.N(ai.ProbeRate)} msg/s, alone, "
            + $"and in an episode where {Fmt.N(ai.Calls)} patients in {ai.PatientGroups} groups send at once (64 clients), each message forwarded to a stand-in "
            + $"AI that streams its answer in {ai.Pieces} pieces over 1–2 s (ImAkka asks for a stream, `Ai__Stream=true`), the pieces pushed as "
            + "`ai_delta` frames, the reply stored and pushed. The episode's probe is split: *while starting* covers the patients' sends (their "
            + "appends, the AI records, the context reads), *while running* the same length of time from the last patient's send on, while the calls are "
            + "in flight and their replies are stored — the headline, as the target is about calls running. \"Calls at once\" is the most the stand-in "
            + "held at one time; the thread pool's queue and threads are the largest values of `dotnet_thread_pool_queue_length` and "
            + "`dotnet_thread_pool_thread_count` on ImAkka's `/metrics`, sampled every 200 ms over the episode. Ratio " + Headlines.AiRatio(r).Ratio
            + $"; while starting {Spread.Of(ai.Rounds.Select(x => x.StartingRatio)).Ratio}.");
        md.AppendLine();
        md.AppendLine("| round | without AI p50 / p99 ms | while starting p50 / p99 ms (s) | while running p50 / p99 ms | ratio (p99, running) | calls at once | thread-pool queue (max) | threads (max) | `im_ai_queue_length` (max) | AI replies stored (within s) | events per call | host cores without / starting / running | Redis cores without / starting / running |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var x in ai.Rounds)
        {
            md.AppendLine($"| {x.Round + 1} | {Fmt.Ms(x.Without.Latency.P50)} / {Fmt.Ms(x.Without.Latency.P99)} "
                + $"| {Fmt.Ms(x.WhileStarting.Latency.P50)} / {Fmt.Ms(x.WhileStarting.Latency.P99)} ({Fmt.D(x.Starting.TotalSeconds, "0.00")}) "
                + $"| {Fmt.Ms(x.InFlight.Latency.P50)} / {Fmt.Ms(x.InFlight.Latency.P99)} "
                + $"| {Fmt.R(x.Ratio)} | {Fmt.N(x.MaxCallsAtOnce)} | {Fmt.N(x.MaxThreadPoolQueue)} | {Fmt.N(x.MaxThreadPoolThreads)} | {Fmt.N(x.MaxAiQueue)} "
                + $"| {Fmt.N(x.RepliesStored)} ({Fmt.D(x.RepliesWithin.TotalSeconds)}) | {Fmt.D(x.EventsPerCall, "0.0")} "
                + $"| {Fmt.D(x.Without.Cpu.ServerCores, "0.00")} / {Fmt.D(x.WhileStarting.Cpu.ServerCores, "0.00")} / {Fmt.D(x.InFlight.Cpu.ServerCores, "0.00")} "
                + $"| {Fmt.D(x.Without.Cpu.RedisCores, "0.00")} / {Fmt.D(x.WhileStarting.Cpu.RedisCores, "0.00")} / {Fmt.D(x.InFlight.Cpu.RedisCores, "0.00")} |");
        }
        md.AppendLine();
    }

    private static void ColdSection(StringBuilder md, Results r)
    {
        md.AppendLine(Sections[8]);
        md.AppendLine();
        md.AppendLine($"A host with `Im__PassivateAfterSeconds={r.Cold.PassivateAfterSeconds}`; {r.Cold.Groups} groups. Each round waits until `im_group_actors` is 0, "
            + "then sends one message to each group (cold: the shard starts the GroupActor, which loads the group and its members from Redis before it "
            + "appends) and at once a second (warm). Send latency in ms.");
        md.AppendLine();
        md.AppendLine("| round | cold p50 / max | warm p50 / max | cold ÷ warm (p50) |");
        md.AppendLine("|---|---|---|---|");
        foreach (var x in r.Cold.Rounds)
            md.AppendLine($"| {x.Round + 1} | {Fmt.Ms(x.Cold.P50)} / {Fmt.Ms(x.Cold.Max)} | {Fmt.Ms(x.Warm.P50)} / {Fmt.Ms(x.Warm.Max)} | {Fmt.R(x.Ratio)} |");
        md.AppendLine();
    }

    private static void CpuSection(StringBuilder md, Results r)
    {
        md.AppendLine(Sections[9]);
        md.AppendLine();
        md.AppendLine("Server process only (utime + stime ÷ messages stored, or ÷ pushes delivered for fan-out), medians over rounds; Redis's own CPU per message beside it.");
        md.AppendLine();
        md.AppendLine("| work | ImAkka µs | bare µs | ratio | Redis µs (ImAkka / bare) |");
        md.AppendLine("|---|---|---|---|---|");
        void Row(string name, List<ThroughputRound> rounds) => md.AppendLine(
            $"| {name} | {Fmt.D(Headlines.Median(rounds.Select(x => Headlines.CpuPerMessage(x.ImAkka))), "0")} "
            + $"| {Fmt.D(Headlines.Median(rounds.Select(x => Headlines.CpuPerMessage(x.Baseline))), "0")} "
            + $"| {Spread.Of(rounds.Select(x => Headlines.CpuPerMessage(x.ImAkka) / Headlines.CpuPerMessage(x.Baseline))).Ratio} "
            + $"| {Fmt.D(Headlines.Median(rounds.Select(x => Headlines.RedisCpuPerMessage(x.ImAkka))), "0")} / {Fmt.D(Headlines.Median(rounds.Select(x => Headlines.RedisCpuPerMessage(x.Baseline))), "0")} |");
        Row("a stored message, sends over many groups", r.Sends);
        Row("a stored message, one hot group", r.Hot.Rounds);
        foreach (var size in r.Fanout)
        {
            var cells = size.Cells.Where(c => c.Load == Settings.FanoutLoads[^1]).ToList();
            md.AppendLine($"| a delivered push, group of {size.Size} at {Settings.FanoutLoads[^1]:P0} load | {Fmt.D(Headlines.Median(cells.Select(c => c.ImAkka.CpuMicrosPerPush)))} "
                + $"| {Fmt.D(Headlines.Median(cells.Select(c => c.Baseline.CpuMicrosPerPush)))} | {Spread.Of(cells.Select(c => c.ImAkka.CpuMicrosPerPush / c.Baseline.CpuMicrosPerPush)).Ratio} | |");
        }
        md.AppendLine();
    }

    private static void ClusterSection(StringBuilder md, Results r)
    {
        md.AppendLine(Sections[10]);
        md.AppendLine();
        md.AppendLine("Nodes on loopback over one `redis-server` (key prefix `cl:`), 12 groups of 4, every member with a socket on the node of its group "
            + "(group *g* on node *g* mod *N*), and then, skewed, every socket on node 1; messages sent through node *g* mod *N*, 16 in flight. Per node, "
            + "from its own `/metrics`: the events its SessionsActor read from the group channels it subscribed to (`im_fanout_events_total`), the "
            + "events that had a recipient with a socket there, the pushes it made (`im_pushes_total`) and the messages its GroupActors stored. "
            + "The third node joins the running two-node cluster.");
        md.AppendLine();
        md.AppendLine("| nodes | layout | node | sockets | events read | events for its sockets | read ÷ needed | pushes made / expected | stored here |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var run in r.Cluster)
        {
            foreach (var n in run.PerNode)
            {
                md.AppendLine($"| {run.Nodes} | {(run.Skewed ? "all on node 1" : "spread")} | {n.Node} | {n.Sockets} | {Fmt.N(n.EventsReceived)} | {Fmt.N(n.EventsForOwnSockets)} | {(n.EventsForOwnSockets == 0 ? "—" : Fmt.R(n.Ratio))} "
                    + $"| {Fmt.N(n.PushesDelivered)} / {Fmt.N(n.PushesExpected)} | {Fmt.N(n.StoredHere)} |");
            }
        }
        md.AppendLine();
        foreach (var run in r.Cluster)
            md.AppendLine($"{run.Nodes} nodes{(run.Skewed ? ", all sockets on node 1" : "")}: {Fmt.N(run.Messages)} messages, {run.SendFailures} sends failed, pushes received {Fmt.N(run.PushesReceived)} of {Fmt.N(run.PushesExpected)} (lost {run.Lost}).  ");
        md.AppendLine();
    }

    private static void LoadGeneratorSection(StringBuilder md, Results r)
    {
        md.AppendLine(Sections[11]);
        md.AppendLine();
        md.AppendLine("The load generator shares the two cores with the servers and Redis; its CPU (cores used over each measured window, medians over rounds) "
            + "is what it took from them.");
        md.AppendLine();
        md.AppendLine("| phase | against ImAkka | against the baseline |");
        md.AppendLine("|---|---|---|");
        string Cores(IEnumerable<CpuUse> uses) => Fmt.D(Headlines.Median(uses.Select(u => u.LoadGeneratorCores)), "0.00");
        md.AppendLine($"| sends over many groups | {Cores(r.Sends.Select(x => x.ImAkka.Cpu))} | {Cores(r.Sends.Select(x => x.Baseline.Cpu))} |");
        md.AppendLine($"| one hot group | {Cores(r.Hot.Rounds.Select(x => x.ImAkka.Cpu))} | {Cores(r.Hot.Rounds.Select(x => x.Baseline.Cpu))} |");
        foreach (var size in r.Fanout)
        {
            var cells = size.Cells.Where(c => c.Load == Settings.FanoutLoads[^1]).ToList();
            md.AppendLine($"| fan-out, group of {size.Size} at {Settings.FanoutLoads[^1]:P0} | {Cores(cells.Select(c => c.ImAkka.Cpu))} | {Cores(cells.Select(c => c.Baseline.Cpu))} |");
        }
        md.AppendLine($"| AI forwarding, while the calls start / run | {Cores(r.Ai.Rounds.Select(x => x.WhileStarting.Cpu))} / {Cores(r.Ai.Rounds.Select(x => x.InFlight.Cpu))} | — |");
        md.AppendLine();
    }

    private static void ProfilesSection(StringBuilder md, Results r, Settings settings)
    {
        md.AppendLine(Sections[13]);
        md.AppendLine();
        if (r.Profiles.Count == 0)
        {
            md.AppendLine(settings.Quick
                ? "No profiles in a `--quick` run."
                : "No profiles: dotnet-trace was not installed (scripts/bench.sh installs it into `~/.cache/imakka-bench/tools`).");
            md.AppendLine();
            return;
        }
        md.AppendLine("""
            `dotnet-trace collect --profile dotnet-sampled-thread-time` on the ImAkka host during one extra segment of the phase's load,
            converted to speedscope by dotnet-trace and reduced by `bench/ImAkka.Bench/Profiler.cs`. Every sample ends in CPU_TIME (the thread
            was running managed code) or UNMANAGED_CODE_TIME (native: waiting, or the GC and system calls); only CPU_TIME samples are counted
            below. The sampler cannot tell a thread that runs from one that is runnable but waiting for a core, so on two busy cores these are
            shares, not CPU seconds (the /proc figure is the CPU). *Areas* first set apart the samples of threads meeting rather than working
            (spinning before sleeping, contended locks, StackExchange.Redis's own I/O threads looping, stops for a GC), then give each other
            sample to the nearest frame of a named library (frames it could not name are skipped over); *hot methods* are the frames that were
            running; *ImAkka and Akka frames* are inclusive (the share of samples with that frame anywhere on the stack), dispatch plumbing left out.
            """);
        md.AppendLine();
        foreach (var (name, p) in r.Profiles)
        {
            if (p is null)
            {
                md.AppendLine($"**{name}**: the trace could not be collected or converted.");
                md.AppendLine();
                continue;
            }
            md.AppendLine($"### Profile: {name}");
            md.AppendLine();
            md.AppendLine($"Window {Fmt.D(p.WindowMs / 1000, "0.0")} s; the process used {Fmt.D(p.ProcessCpuMs / 1000, "0.00")} s of CPU (/proc), the sampler saw "
                + $"{Fmt.D(p.ManagedCpuMs / 1000, "0.00")} s running managed code and {Fmt.D(p.NativeOtherMs / 1000, "0.00")} s in native code outside the usual waits "
                + "(the sampler's thread time is an estimate; the GC's own threads are not sampled).");
            md.AppendLine();
            md.AppendLine("| area | share of managed samples | share of the work |");
            md.AppendLine("|---|---|---|");
            foreach (var a in p.Areas.Where(a => Profiler.Overhead.Is(a.Name))) md.AppendLine($"| {a.Name} | {Fmt.D(a.Percent)} % | |");
            foreach (var (a, w) in p.Areas.Where(a => !Profiler.Overhead.Is(a.Name)).Zip(p.WorkAreas))
                md.AppendLine($"| {a.Name} | {Fmt.D(a.Percent)} % | {Fmt.D(w.Percent)} % |");
            md.AppendLine();
            md.AppendLine("| hot method (running) | share |");
            md.AppendLine("|---|---|");
            foreach (var m in p.Exclusive.Take(12)) md.AppendLine($"| `{m.Name}` | {Fmt.D(m.Percent)} % |");
            md.AppendLine();
            md.AppendLine("| ImAkka and Akka frames (inclusive) | share |");
            md.AppendLine("|---|---|");
            foreach (var m in p.InclusiveOwn.Take(12)) md.AppendLine($"| `{m.Name}` | {Fmt.D(m.Percent)} % |");
            md.AppendLine();
        }
    }

    private static void RunningSection(StringBuilder md)
    {
        md.AppendLine(Sections[14]);
        md.AppendLine();
        md.AppendLine("""
            ```sh
            scripts/bench.sh                 # the full run: builds, runs every phase, writes docs/BENCHMARKS.md and docs/images/benchmarks.png
            scripts/bench.sh --quick --out /tmp/bench.md   # every phase once, tiny: proves the harness, judges nothing
            ```

            It needs the .NET 10 SDK and redis-server (installed with apt-get when missing and run as root), raises its own open-file
            limit for the socket phases (the full run holds 10,000 client and 10,000 server sockets: `ulimit -n` of at least 12,000 for
            each process; where the hard limit is lower, raise it in `/etc/security/limits.conf` or with `prlimit`), and installs
            dotnet-trace and dotnet-gcdump from NuGet into `~/.cache/imakka-bench/tools` for the profiles. Every server it starts is
            killed when it ends, on Ctrl-C too. Logs and traces stay in the run's scratch directory, which the script names.
            """);
    }
}
