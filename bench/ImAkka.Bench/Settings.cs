using System.Diagnostics;

namespace ImAkka.Bench;

/// <summary>
/// How big and long each phase is. The full run is sized to finish within 10 minutes on 2 cores
/// with three alternating rounds per headline figure; <c>--quick</c> runs every phase once, tiny,
/// to prove the harness works without judging speed.
/// </summary>
public sealed record Settings(
    bool Quick,
    int Rounds,
    TimeSpan Warmup,
    TimeSpan Measure,
    TimeSpan FanoutCell,
    TimeSpan MaxRateMeasure,
    TimeSpan Drain,
    int[] MemoryLevels,
    int AiCalls,
    TimeSpan AiWindow,
    double AiProbeRate,
    int ColdGroups,
    int ClusterMessages,
    TimeSpan ProfileLoad)
{
    public const int SendGroups = 10;
    public const int InFlight = 64;
    public const int HotSenders = 64;
    public const int HotReceivers = 4;
    public static readonly int[] FanoutSizes = [2, 10, 100];
    public static readonly double[] FanoutLoads = [0.25, 0.5, 0.75];

    /// <summary>Groups per fan-out size: 20, 100 and 100 sockets; one group of 100 is the largest group the bench drives.</summary>
    public static int FanoutGroups(int size) => size switch { 2 => 10, 10 => 10, _ => 1 };

    public int SocketsPerUser => 10;

    public static Settings Full => new(false, 3, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(2),
        TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3), [1000, 5000, 10000], 1000, TimeSpan.FromSeconds(2.5), 800, 20, 1500,
        TimeSpan.FromSeconds(4));

    public static Settings QuickRun => new(true, 1, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(250),
        TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(2), [100, 200, 300], 100, TimeSpan.FromSeconds(1.5), 100, 4, 100,
        TimeSpan.Zero);
}

/// <summary>One line per phase and step, with the time since the run began, so a watcher knows where it is.</summary>
public static class Progress
{
    private static readonly Stopwatch Clock = Stopwatch.StartNew();
    private static int _phase;

    public static int Phases { get; set; }

    public static TimeSpan Elapsed => Clock.Elapsed;

    public static void Phase(string what) => Line($"[{++_phase}/{Phases}] {what}");

    public static void Step(string what) => Line($"      {what}");

    public static void Line(string what) => Console.WriteLine($"[bench] {Clock.Elapsed.TotalSeconds,6:0.0}s {what}");
}
