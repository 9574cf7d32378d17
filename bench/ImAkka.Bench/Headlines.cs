namespace ImAkka.Bench;

/// <summary>One line of the summary: a figure, the target it is held to, and where ImAkka stands.</summary>
public sealed record Headline(
    string Key,
    string Figure,
    string Target,
    string ImAkka,
    string Baseline,
    Spread Ratio,
    bool? Met,
    double? TargetValue,
    string Chart,
    string? ChartNote = null)
{
    public string Verdict => Met switch { true => "met", false => "**missed**", null => "reported" };
}

public static class Headlines
{
    public static Spread SendsRatio(Results r) => Spread.Of(r.Sends.Select(x => x.Ratio));

    public static Spread HotRatio(Results r) => Spread.Of(r.Hot.Rounds.Select(x => x.Ratio));

    /// <summary>A size's cells at one load, over rounds.</summary>
    public static IEnumerable<(double Load, List<FanoutCell> Cells)> Loads(FanoutSize size) =>
        size.Cells.GroupBy(c => c.Load).Select(g => (g.Key, g.ToList()));

    /// <summary>The load at which a size's median p99 ratio is worst: the one the target is judged on.</summary>
    public static (double Load, List<FanoutCell> Cells, Spread Ratio) WorstLoad(FanoutSize size) =>
        Loads(size).Select(l => (l.Load, l.Cells, Spread.Of(l.Cells.Select(c => c.P99Ratio))))
            .OrderByDescending(l => double.IsNaN(l.Item3.Median) ? double.MaxValue : l.Item3.Median).First();

    public static long LostImAkka(Results r) => r.Fanout.SelectMany(s => s.Cells).Sum(c => c.ImAkka.Lost);
    public static long LostBaseline(Results r) => r.Fanout.SelectMany(s => s.Cells).Sum(c => c.Baseline.Lost);

    public static MemoryLevel[] LargestMemoryLevels(Results r) => r.Memory.Select(m => m.Levels[^1]).ToArray();

    public static Spread MemoryRatio(Results r) => Spread.Of(LargestMemoryLevels(r).Select(l => l.Ratio));

    public static double MemoryPerConnection(Results r) => Spread.Of(LargestMemoryLevels(r).Select(l => l.ImAkkaPerConnection)).Median;

    public static double EchoPerConnection(Results r) => Spread.Of(LargestMemoryLevels(r).Select(l => l.EchoPerConnection)).Median;

    public static Spread AiRatio(Results r) => Spread.Of(r.Ai.Rounds.Select(x => x.Ratio));

    public static ClusterRun? LargestCluster(Results r) => r.Cluster.Where(c => !c.Skewed).OrderByDescending(c => c.Nodes).FirstOrDefault();

    public static ClusterRun? SkewedCluster(Results r) => r.Cluster.FirstOrDefault(c => c.Skewed);

    public static Spread ClusterRatio(ClusterRun? run) => run is null ? Spread.Of([]) : Spread.Of(run.PerNode.Select(n => n.Ratio));

    public static double Median(IEnumerable<double> values) => Spread.Of(values).Median;

    public static List<Headline> All(Results r)
    {
        var list = new List<Headline>();
        var sends = SendsRatio(r);
        list.Add(new Headline("sends", $"Sends over {Settings.SendGroups} groups of 2, {Settings.InFlight} in flight (msg/s)", "≥ 0.8×",
            $"{Fmt.N(Median(r.Sends.Select(x => x.ImAkka.Rate)))} msg/s, p50 {Fmt.Ms(Median(r.Sends.Select(x => x.ImAkka.Latency.P50)))} ms",
            $"{Fmt.N(Median(r.Sends.Select(x => x.Baseline.Rate)))} msg/s, p50 {Fmt.Ms(Median(r.Sends.Select(x => x.Baseline.Latency.P50)))} ms",
            sends, sends.Median >= 0.8, 0.8, "sends"));

        var hot = HotRatio(r);
        var checks = r.Hot.ImAkka.GapFree && r.Hot.ImAkka.OrderKept;
        list.Add(new Headline("hot", $"One hot group, {Settings.HotSenders} senders (msg/s); seq gap-free, push order kept", "≥ 0.6×",
            $"{Fmt.N(Median(r.Hot.Rounds.Select(x => x.ImAkka.Rate)))} msg/s, p50 {Fmt.Ms(Median(r.Hot.Rounds.Select(x => x.ImAkka.Latency.P50)))} ms; "
                + (checks ? "gap-free, in order" : "**seq or order check failed**"),
            $"{Fmt.N(Median(r.Hot.Rounds.Select(x => x.Baseline.Rate)))} msg/s, p50 {Fmt.Ms(Median(r.Hot.Rounds.Select(x => x.Baseline.Latency.P50)))} ms",
            hot, hot.Median >= 0.6 && checks, 0.6, "hot group"));

        foreach (var size in r.Fanout)
        {
            var (load, cells, ratio) = WorstLoad(size);
            var allMet = Loads(size).All(l => Spread.Of(l.Cells.Select(c => c.P99Ratio)).Median <= 1.5);
            list.Add(new Headline($"fanout{size.Size}", $"Fan-out p99, group of {size.Size} (worst of ¼, ½, ¾ load: {load:P0})", "≤ 1.5× at every load",
                $"p99 {Fmt.Ms(Median(cells.Select(c => c.ImAkka.Push.P99)))} ms at {Fmt.N(cells[0].Rate)} msg/s",
                $"p99 {Fmt.Ms(Median(cells.Select(c => c.Baseline.Push.P99)))} ms",
                ratio, allMet, 1.5, $"fan-out p99\nn={size.Size}"));
        }
        list.Add(new Headline("lost", "Pushes lost in the fan-out cells", "0",
            Fmt.N(LostImAkka(r)), Fmt.N(LostBaseline(r)), Spread.Of([]), LostImAkka(r) == 0, null, ""));

        var memory = MemoryRatio(r);
        var perConnection = MemoryPerConnection(r);
        var largest = r.Memory.Count > 0 ? r.Memory[0].Levels[^1].Connections : 0;
        list.Add(new Headline("memory", $"Idle WebSocket at {Fmt.N(largest)} connections (host RSS per connection)", "≤ 1.3× the echo",
            $"{Fmt.Kb(perConnection)} KB", $"{Fmt.Kb(EchoPerConnection(r))} KB (bare echo)", memory,
            memory.Median <= 1.3, 1.3, "idle socket", $"{Fmt.Kb(perConnection)} KB"));

        var ai = AiRatio(r);
        list.Add(new Headline("ai", $"Non-AI send p99 while {Fmt.N(r.Ai.Calls)} AI calls run vs without", "≤ 1.2×",
            $"p99 {Fmt.Ms(Median(r.Ai.Rounds.Select(x => x.InFlight.Latency.P99)))} ms with, {Fmt.N(Median(r.Ai.Rounds.Select(x => x.MaxCallsAtOnce)))} calls at once",
            $"p99 {Fmt.Ms(Median(r.Ai.Rounds.Select(x => x.Without.Latency.P99)))} ms without (same run)", ai, ai.Median <= 1.2, 1.2, "non-AI p99\nwith AI"));

        var cluster = LargestCluster(r);
        var clusterRatio = ClusterRatio(cluster);
        list.Add(new Headline("cluster", $"Per-node fan-out work, {cluster?.Nodes ?? 0} nodes (events read ÷ events for its own sockets)",
            "proportional to its own sockets (≤ 1.1×)",
            cluster is null ? "n/a" : $"{Fmt.N(cluster.PerNode.Sum(n => n.EventsReceived))} events read for {Fmt.N(cluster.Messages)} messages",
            "1× (each event read by the node whose sockets want it)", clusterRatio, clusterRatio.Median <= 1.1, 1.1, $"per-node\nfan-out"));

        var cold = Spread.Of(r.Cold.Rounds.Select(x => x.Ratio));
        list.Add(new Headline("cold", "Cold GroupActor: first message after passivation vs the next (p50)", "— (reported)",
            $"{Fmt.Ms(Median(r.Cold.Rounds.Select(x => x.Cold.P50)))} ms cold", $"{Fmt.Ms(Median(r.Cold.Rounds.Select(x => x.Warm.P50)))} ms warm (ImAkka)",
            cold, null, null, ""));

        var cpu = Spread.Of(r.Sends.Select(x => CpuPerMessage(x.ImAkka) / CpuPerMessage(x.Baseline)));
        list.Add(new Headline("cpu", "Server CPU per stored message, sends over many groups", "— (reported)",
            $"{Fmt.D(Median(r.Sends.Select(x => CpuPerMessage(x.ImAkka))), "0")} µs", $"{Fmt.D(Median(r.Sends.Select(x => CpuPerMessage(x.Baseline))), "0")} µs",
            cpu, null, null, ""));
        return list;
    }

    public static double CpuPerMessage(LoopResult result) => result.Ok == 0 ? double.NaN : result.Cpu.Server.TotalMicroseconds / result.Ok;

    public static double RedisCpuPerMessage(LoopResult result) => result.Ok == 0 ? double.NaN : result.Cpu.Redis.TotalMicroseconds / result.Ok;
}
