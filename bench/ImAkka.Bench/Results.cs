using System.Globalization;
using System.Runtime.InteropServices;

namespace ImAkka.Bench;

/// <summary>Everything one run measured, for the report.</summary>
public sealed class Results
{
    public MachineInfo Machine { get; set; } = null!;
    public List<ThroughputRound> Sends { get; set; } = [];
    public HotResult Hot { get; set; } = null!;
    public List<FanoutSize> Fanout { get; set; } = [];
    public AiResult Ai { get; set; } = null!;
    public List<MemoryRound> Memory { get; set; } = [];
    public ColdResult Cold { get; set; } = null!;
    public List<ClusterRun> Cluster { get; set; } = [];
    public Dictionary<string, ProfileSummary?> Profiles { get; } = [];
    public GcSummary? Gc { get; set; }
    public TimeSpan Duration { get; set; }
    public string LoadAverageAfter { get; set; } = "";
}

public sealed record MachineInfo(string Cpu, int Cores, string Memory, string Os, string Kernel, string Dotnet, string Redis,
    string Commit, string Date, string LoadAverage, string FileLimit)
{
    public static async Task<MachineInfo> Describe(Paths paths)
    {
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
        var memKb = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        var os = File.Exists("/etc/os-release")
            ? File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?.Split('=', 2)[1].Trim('"') ?? "Linux"
            : "Linux";
        var redisVersion = (await Run("redis-server", "--version", paths.Repo)).Split(' ').FirstOrDefault(p => p.StartsWith("v=", StringComparison.Ordinal))?[2..] ?? "?";
        var commit = (await Run("git", "rev-parse --short HEAD", paths.Repo)).Trim();
        var dirty = (await Run("git", "status --porcelain --untracked-files=no", paths.Repo)).Trim().Length > 0;
        var limit = (await Run("bash", "-c \"ulimit -n\"", paths.Repo)).Trim();
        return new MachineInfo(cpu, Environment.ProcessorCount,
            $"{long.Parse(memKb, CultureInfo.InvariantCulture) / 1024 / 1024.0:0.0} GiB", os, File.ReadAllText("/proc/sys/kernel/osrelease").Trim(),
            RuntimeInformation.FrameworkDescription, redisVersion, commit + (dirty ? " (with uncommitted changes)" : ""),
            DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture), CurrentLoadAverage(), limit);
    }

    public static string CurrentLoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    private static async Task<string> Run(string file, string arguments, string directory)
    {
        try
        {
            using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(file, arguments)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = directory,
            })!;
            var output = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            return output;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "";
        }
    }
}
