using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace ImAkka.Bench;

/// <summary>
/// A server the bench started: its own process, its output in a log file, its CPU and memory read
/// from /proc. Every child is killed when the bench ends, however it ends (see <see cref="Children"/>).
/// </summary>
public sealed class Child : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;

    private Child(string name, Process process, StreamWriter log)
    {
        Name = name;
        _process = process;
        _log = log;
    }

    public string Name { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;

    public static Child Start(string name, string fileName, IEnumerable<string> arguments, IDictionary<string, string> environment,
        string logPath, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        foreach (var (key, value) in environment) info.Environment[key] = value;
        Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
        var child = new Child(name, process, log);
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => child.Write($"[bench] {name} exited with {SafeExitCode(process)} at {DateTime.UtcNow:HH:mm:ss.fff}");
        process.OutputDataReceived += (_, e) => child.Write(e.Data);
        process.ErrorDataReceived += (_, e) => child.Write(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Children.Add(child);
        return child;
    }

    private static string SafeExitCode(Process process)
    {
        try
        {
            return process.ExitCode.ToString(CultureInfo.InvariantCulture);
        }
        catch (InvalidOperationException)
        {
            return "?";
        }
    }

    private void Write(string? line)
    {
        if (line is null) return;
        lock (_log)
        {
            try
            {
                _log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    /// <summary>CPU time the process has used so far, user and system (utime + stime of /proc/&lt;pid&gt;/stat).</summary>
    public TimeSpan Cpu => ProcStat.Cpu(Pid);

    /// <summary>Resident set size in bytes (VmRSS of /proc/&lt;pid&gt;/status).</summary>
    public long Rss => ProcStat.Rss(Pid);

    /// <summary>kill -9: the bench never needs a graceful stop, and a hung child must not hold the run.</summary>
    public async Task Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(bound.Token);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
        }
        Children.Remove(this);
        lock (_log) _log.Dispose();
    }

    /// <summary>For the exit path, where nothing may be awaited.</summary>
    internal void KillNow()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
        }
    }

    public ValueTask DisposeAsync() => new(Kill());
}

/// <summary>Every live child, so that an exception, Ctrl-C or SIGTERM still leaves no server running.</summary>
public static class Children
{
    private static readonly ConcurrentDictionary<Child, byte> Live = new();
    private static readonly List<PosixSignalRegistration> Signals = [];

    public static void Add(Child child) => Live.TryAdd(child, 0);

    public static void Remove(Child child) => Live.TryRemove(child, out _);

    public static void KillAll()
    {
        foreach (var child in Live.Keys) child.KillNow();
        Live.Clear();
    }

    public static void KillAllOnExit()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
        AppDomain.CurrentDomain.UnhandledException += (_, _) => KillAll();
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP, PosixSignal.SIGQUIT })
        {
            Signals.Add(PosixSignalRegistration.Create(signal, context =>
            {
                Console.Error.WriteLine($"[bench] {context.Signal}: stopping every server the bench started");
                KillAll();
                context.Cancel = true;
                Environment.Exit(130);
            }));
        }
    }
}

public static class ProcStat
{
    private static readonly long TicksPerSecond = ClockTicks();

    public static TimeSpan Cpu(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) is in parentheses and may hold spaces; the fields after it are plain.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var utime = long.Parse(fields[11], CultureInfo.InvariantCulture);
            var stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds((double)(utime + stime) / TicksPerSecond);
        }
        catch (Exception ex) when (ex is IOException or FormatException or IndexOutOfRangeException)
        {
            return TimeSpan.Zero;
        }
    }

    public static long Rss(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (!line.StartsWith("VmRSS:", StringComparison.Ordinal)) continue;
            var kb = line["VmRSS:".Length..].Trim().Split(' ')[0];
            return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
        }
        return 0;
    }

    public static TimeSpan SelfCpu => Cpu(Environment.ProcessId);

    private static long ClockTicks()
    {
        try
        {
            var ticks = sysconf(ScClkTck);
            return ticks > 0 ? ticks : 100;
        }
        catch (DllNotFoundException)
        {
            return 100;
        }
    }

    private const int ScClkTck = 2;

    [DllImport("libc")]
    private static extern long sysconf(int name);
}

public static class Ports
{
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
