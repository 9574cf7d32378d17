using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace ImAkka.Bench;

public sealed record HotMethod(string Name, double Percent);

public sealed record Area(string Name, double Percent);

/// <summary>
/// A sampled profile reduced to what a reader needs: where the CPU in managed code went, by area and
/// by method. <see cref="ManagedCpuMs"/> is the time the sampler found threads running managed code;
/// <see cref="ProcessCpuMs"/> is what /proc says the process used over the same window, natively
/// (GC, the kernel's socket work) included.
/// </summary>
public sealed record ProfileSummary(string Name, string File, double WindowMs, double ManagedCpuMs, double ProcessCpuMs,
    List<Area> Areas, List<HotMethod> Exclusive, List<HotMethod> InclusiveOwn, double NativeOtherMs)
{
    /// <summary>Samples of threads meeting rather than working (see <see cref="Profiler.Overhead"/>), in percent.</summary>
    public double OverheadPercent => Areas.Where(a => Profiler.Overhead.Is(a.Name)).Sum(a => a.Percent);

    /// <summary>The work areas, each as a share of the samples that are work.</summary>
    public IEnumerable<Area> WorkAreas => Areas.Where(a => !Profiler.Overhead.Is(a.Name))
        .Select(a => a with { Percent = 100 * a.Percent / Math.Max(0.001, 100 - OverheadPercent) });
}

/// <param name="EchoBytes">In a summary's rows: what the echo's heap grew by in the same type at the same sockets.</param>
public sealed record GcType(string Type, long Bytes, long Count, long EchoBytes = 0);

/// <summary>Heap by type at N idle sockets and after they closed, from two gcdumps of the same process.</summary>
public sealed record GcSummary(int Connections, long HeapWith, long HeapWithout, List<GcType> PerConnection, long EchoHeapWith, long EchoHeapWithout);

/// <summary>
/// dotnet-trace (EventPipe's sample profiler, about one sample per thread per millisecond) and
/// dotnet-gcdump, installed by scripts/bench.sh outside the repository. The trace is converted to
/// speedscope JSON by dotnet-trace and summarized here: each sample ends in a pseudo-frame,
/// CPU_TIME (the thread was running managed code) or UNMANAGED_CODE_TIME (native code: waiting, or
/// the GC and system calls), so only CPU_TIME samples are counted as managed CPU.
/// </summary>
public sealed partial class Profiler(string? toolsDir, string workDir)
{
    public bool Enabled => toolsDir is not null && File.Exists(Tool("dotnet-trace"));

    private string Tool(string name) => Path.Combine(toolsDir ?? "", name);

    public async Task<ProfileSummary?> Trace(Child process, string name, TimeSpan length, Func<Task> load)
    {
        var dir = Path.Combine(workDir, "profiles");
        Directory.CreateDirectory(dir);
        var nettrace = Path.Combine(dir, name + ".nettrace");
        var speedscope = Path.Combine(dir, name + ".speedscope.json");
        Progress.Step($"profiling ImAkka ({name}) with dotnet-trace");
        // A fixed duration, not Ctrl+C: a process started in the background may ignore SIGINT.
        // The session starts a moment before its file appears, when the load begins; a short tail keeps idle time out.
        var duration = length + TimeSpan.FromSeconds(1);
        var trace = Child.Start("dotnet-trace-" + name, Tool("dotnet-trace"),
            ["collect", "-p", process.Pid.ToString(CultureInfo.InvariantCulture), "--profile", "dotnet-sampled-thread-time",
             "--format", "Speedscope", "--duration", $"00:00:{(int)duration.TotalMinutes:00}:{duration.Seconds:00}", "-o", nettrace],
            new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1" }, Path.Combine(workDir, "logs", $"dotnet-trace-{name}.log"));
        // The session is running once the trace file has its header; load before that is not sampled.
        await Servers.Until(() => Task.FromResult(File.Exists(nettrace) && new FileInfo(nettrace).Length > 0), "dotnet-trace to start", trace,
            TimeSpan.FromSeconds(30));
        var cpuBefore = process.Cpu;
        var started = Stopwatch.GetTimestamp();
        await load();
        var window = Stopwatch.GetElapsedTime(started);
        var cpu = process.Cpu - cpuBefore;
        try
        {
            await Servers.Until(() => Task.FromResult(trace.HasExited), "dotnet-trace to write its files", timeout: TimeSpan.FromSeconds(120));
        }
        catch (TimeoutException)
        {
            await trace.Kill();
            return null;
        }
        await trace.Kill();
        if (process.HasExited) throw new InvalidOperationException($"{process.Name} exited while it was traced; see its log");
        return File.Exists(speedscope) ? Summarize(name, speedscope, window.TotalMilliseconds, cpu.TotalMilliseconds) : null;
    }

    private static readonly string[] WaitFrames =
    [
        "LowLevelLifoSemaphore.Wait", "Monitor.Wait", "WaitHandle.Wait", "SpinWait.", "LowLevelSpinWaiter.", "WorkerThreadStart",
        "Thread.Sleep", "ManualResetEventSlim.Wait", "SemaphoreSlim.Wait",
        // The socket engine's thread sits in epoll_wait; the sampler sees it in the call's managed stub.
        "SocketAsyncEngine.EventLoop",
    ];

    public static ProfileSummary Summarize(string name, string path, double windowMs, double processCpuMs)
    {
        using var stream = File.OpenRead(path);
        using var document = JsonDocument.Parse(stream);
        var frames = document.RootElement.GetProperty("shared").GetProperty("frames").EnumerateArray()
            .Select(f => f.GetProperty("name").GetString() ?? "?").ToArray();
        var cpuFrame = Array.IndexOf(frames, "CPU_TIME");
        var nativeFrame = Array.IndexOf(frames, "UNMANAGED_CODE_TIME");
        var exclusive = new Dictionary<int, double>();
        var inclusive = new Dictionary<int, double>();
        var areas = new Dictionary<string, double>(StringComparer.Ordinal);
        double managed = 0, nativeOther = 0;
        var stack = new List<int>();
        var seen = new HashSet<int>();
        foreach (var profile in document.RootElement.GetProperty("profiles").EnumerateArray())
        {
            if (profile.GetProperty("type").GetString() != "evented") continue;
            stack.Clear();
            double? last = null;
            foreach (var e in profile.GetProperty("events").EnumerateArray())
            {
                var at = e.GetProperty("at").GetDouble();
                if (last is { } before && stack.Count > 1)
                {
                    var span = at - before;
                    var leaf = stack[^1];
                    var parent = stack[^2];
                    if (leaf == cpuFrame)
                    {
                        managed += span;
                        var running = parent;
                        for (var i = stack.Count - 2; i > 0 && frames[running].StartsWith("?!", StringComparison.Ordinal); i--) running = stack[i - 1];
                        exclusive[running] = exclusive.GetValueOrDefault(running) + span;
                        seen.Clear();
                        for (var i = 0; i < stack.Count - 1; i++)
                        {
                            if (seen.Add(stack[i])) inclusive[stack[i]] = inclusive.GetValueOrDefault(stack[i]) + span;
                        }
                        var area = AreaOf(stack, frames);
                        areas[area] = areas.GetValueOrDefault(area) + span;
                    }
                    else if (leaf == nativeFrame && !WaitFrames.Any(w => frames[parent].Contains(w, StringComparison.Ordinal)))
                    {
                        nativeOther += span;
                    }
                }
                last = at;
                var frame = e.GetProperty("frame").GetInt32();
                if (e.GetProperty("type").GetString() == "O") stack.Add(frame);
                else if (stack.Count > 0) stack.RemoveAt(stack.Count - 1);
            }
        }
        double Share(double ms) => managed == 0 ? 0 : 100 * ms / managed;
        var top = exclusive.Where(p => !WaitFrames.Any(w => frames[p.Key].Contains(w, StringComparison.Ordinal)) && !frames[p.Key].Contains("PollGC", StringComparison.Ordinal))
            .OrderByDescending(p => p.Value).Take(15).Select(p => new HotMethod(Short(frames[p.Key]), Share(p.Value))).ToList();
        var own = inclusive.Where(p => IsOwnOrAkka(frames[p.Key]) && !IsPlumbing(frames[p.Key]))
            .OrderByDescending(p => p.Value).Take(12).Select(p => new HotMethod(Short(frames[p.Key]), Share(p.Value))).ToList();
        return new ProfileSummary(name, path, windowMs, managed, processCpuMs,
            areas.OrderByDescending(a => a.Value).Select(a => new Area(a.Key, Share(a.Value))).ToList(), top, own, nativeOther);
    }

    /// <summary>
    /// Whose work a sample is. First what the running frame itself says — spinning or waking in the
    /// thread pool, a contended lock, StackExchange.Redis's own I/O threads looping, a thread stopped
    /// for a GC — then the nearest frame to the leaf that belongs to a library the bench names, so a
    /// dictionary lookup inside Akka counts for Akka and a string copy inside the JSON writer for JSON.
    /// Frames the sampler could not name are skipped over.
    /// </summary>
    private static string AreaOf(List<int> stack, string[] frames)
    {
        var parent = frames[stack[^2]];
        if (WaitFrames.Any(w => parent.Contains(w, StringComparison.Ordinal))) return Overhead.Spinning;
        if (parent.Contains("PollGC", StringComparison.Ordinal)) return Overhead.Gc;
        if (parent.Contains("Monitor.Enter_Slowpath", StringComparison.Ordinal) || parent.Contains("Monitor.Exit_Slowpath", StringComparison.Ordinal))
            return Overhead.Locks;
        if (parent.Contains("DedicatedThreadPoolPipeScheduler", StringComparison.Ordinal)) return Overhead.RedisThreads;
        for (var i = stack.Count - 2; i >= 0; i--)
        {
            var module = Module(frames[stack[i]]);
            var area = module switch
            {
                _ when module.StartsWith("Akka", StringComparison.Ordinal) => "Akka.NET: actors, mailboxes, dispatch, ask, sharding",
                _ when module.StartsWith("Im.", StringComparison.Ordinal) => "ImAkka's own code",
                "System.Text.Json" => "System.Text.Json",
                _ when module.StartsWith("StackExchange.Redis", StringComparison.Ordinal) || module.StartsWith("Pipelines.Sockets", StringComparison.Ordinal)
                    => "StackExchange.Redis client",
                _ when module.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) || module == "System.Net.WebSockets"
                    => "ASP.NET Core, Kestrel, WebSockets",
                _ when module.StartsWith("OpenTelemetry", StringComparison.Ordinal) || module == "System.Diagnostics.DiagnosticSource"
                    => "OpenTelemetry and metrics",
                _ when module.StartsWith("Microsoft.Extensions.Logging", StringComparison.Ordinal) => "logging",
                _ when module.StartsWith("System.Net", StringComparison.Ordinal) => "sockets (System.Net)",
                _ when module.StartsWith("Microsoft.IdentityModel", StringComparison.Ordinal) => "authentication",
                _ => null,
            };
            if (area is not null) return area;
        }
        return "other runtime and BCL";
    }

    /// <summary>Samples that are not the servers' work but the cost of how threads meet: shown apart from the work.</summary>
    public static class Overhead
    {
        public const string Spinning = "overhead: threads spinning before they sleep, waking, or waiting for socket events";
        public const string Gc = "overhead: threads stopped for a GC";
        public const string Locks = "overhead: contended locks (Monitor slow path)";
        public const string RedisThreads = "overhead: StackExchange.Redis's dedicated I/O threads looping";

        public static bool Is(string area) => area.StartsWith("overhead:", StringComparison.Ordinal);
    }

    private static string Module(string frame)
    {
        var bang = frame.IndexOf('!');
        return bang < 0 ? "" : frame[..bang];
    }

    private static bool IsOwnOrAkka(string frame) =>
        frame.StartsWith("Im.", StringComparison.Ordinal) || frame.StartsWith("Akka", StringComparison.Ordinal);

    // Frames every actor's work passes through: they say nothing about which work it is.
    private static bool IsPlumbing(string frame) =>
        frame.Contains("Akka.Dispatch.", StringComparison.Ordinal) || frame.Contains("ActorCell.Invoke", StringComparison.Ordinal)
        || frame.Contains("ActorBase.AroundReceive", StringComparison.Ordinal) || frame.Contains("ReceiveActor.", StringComparison.Ordinal)
        || frame.Contains("UntypedActor.", StringComparison.Ordinal) || frame.Contains("ActorCell.ReceiveMessage", StringComparison.Ordinal)
        || frame.Contains("Akka.Tools.MatchHandler", StringComparison.Ordinal) || frame.Contains("PartialAction", StringComparison.Ordinal)
        || frame.Contains("lambda_method", StringComparison.Ordinal) || frame.Contains("ActorBase.Receive", StringComparison.Ordinal)
        || frame.Contains("Mailbox.", StringComparison.Ordinal);

    /// <summary><c>Module!Namespace.Type.Method(args)</c> → <c>Type.Method</c> with its namespace, no module, no arguments.</summary>
    public static string Short(string frame)
    {
        var name = frame[(frame.IndexOf('!') + 1)..];
        var paren = name.IndexOf('(');
        if (paren > 0) name = name[..paren];
        name = GenericArity().Replace(name, "");
        name = name.Replace("System.__Canon", "T", StringComparison.Ordinal);
        return name.Length > 110 ? name[..110] + "…" : name;
    }

    [GeneratedRegex(@"`\d+")]
    private static partial Regex GenericArity();

    /// <summary>A gcdump of the process: it forces a full GC first, so the heap is what is reachable.</summary>
    public async Task<Dictionary<string, GcType>?> GcDump(Child process, string name)
    {
        if (!File.Exists(Tool("dotnet-gcdump"))) return null;
        var dir = Path.Combine(workDir, "profiles");
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, name + ".gcdump");
        var collect = await Run(Tool("dotnet-gcdump"), ["collect", "-p", process.Pid.ToString(CultureInfo.InvariantCulture), "-o", file]);
        if (!File.Exists(file)) return null;
        _ = collect;
        var report = await Run(Tool("dotnet-gcdump"), ["report", file]);
        return ParseGcReport(report);
    }

    /// <summary>
    /// dotnet-gcdump's report: a total line, then rows of an object's size, the count of such objects
    /// and the type, large objects in rows of their own size class (<c>(Bytes &gt; 1K)</c>); a type's
    /// bytes are size × count added over its rows, and the total is kept under the empty name.
    /// </summary>
    public static Dictionary<string, GcType> ParseGcReport(string report)
    {
        var types = new Dictionary<string, GcType>(StringComparer.Ordinal);
        foreach (var line in report.Split('\n'))
        {
            var total = GcTotal().Match(line);
            if (total.Success)
            {
                types[""] = new GcType("", ParseLong(total.Groups[1].Value), 0);
                continue;
            }
            var row = GcRow().Match(line);
            if (!row.Success) continue;
            var type = GcBucket().Replace(row.Groups[3].Value, "").Trim();
            var count = ParseLong(row.Groups[2].Value);
            var bytes = ParseLong(row.Groups[1].Value) * count;
            types[type] = types.TryGetValue(type, out var known) ? known with { Bytes = known.Bytes + bytes, Count = known.Count + count } : new GcType(type, bytes, count);
        }
        return types;
    }

    private static long ParseLong(string text) => long.Parse(text.Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^\s*([\d,]+)\s+GC Heap bytes")]
    private static partial Regex GcTotal();

    [GeneratedRegex(@"^\s*([\d,]+)\s+([\d,]+)\s+(.+?)\s*$")]
    private static partial Regex GcRow();

    [GeneratedRegex(@"\s*\(Bytes > [^)]*\)|\s*\[[^\]]*\]\s*$")]
    private static partial Regex GcBucket();

    /// <summary>Runs a tool to its end (killed after two minutes) and returns what it printed, output then errors.</summary>
    public static async Task<string> Run(string file, string[] arguments)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try
        {
            await process.WaitForExitAsync(bound.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
        }
        return await output + await errors;
    }
}
