using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Im.End2End.Tests;

/// <summary>
/// scripts/bench.sh --quick, as the README tells a contributor to run it: it must start every
/// server, run every phase, stop everything it started, and write a report with every section and
/// its chart where it was told to — without touching the committed docs/BENCHMARKS.md. Its figures
/// are not judged: a quick run is too small and too short for that.
/// </summary>
[Collection(EndToEnd.Name)]
public sealed partial class BenchHarnessSpecs(ITestOutputHelper output)
{
    // The quick run takes about 40 s on 2 idle cores; the bound leaves room for a busy machine.
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(150);

    // The report's contract: every section, in this order, in every run.
    private static readonly string[] Sections =
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

    [Fact]
    public async Task Quick_run_should_exit_0_and_write_every_section_elsewhere_than_the_committed_report()
    {
        var root = RepoRoot();
        var committed = Path.Combine(root, "docs", "BENCHMARKS.md");
        var committedBefore = Fingerprint(committed);
        var directory = Directory.CreateTempSubdirectory("im-bench-quick-");
        var report = Path.Combine(directory.FullName, "BENCHMARKS.md");
        var chart = Path.Combine(directory.FullName, "benchmarks.png");
        try
        {
            var (exitCode, log) = await Script(root, Budget, "--quick", "--no-build", "--configuration", Configuration(),
                "--out", report, "--chart", chart);
            output.WriteLine(log);
            Assert.True(exitCode == 0, $"scripts/bench.sh --quick exited with {exitCode}:\n{log}");

            Assert.True(File.Exists(report), $"no report at {report}:\n{log}");
            var text = await File.ReadAllTextAsync(report);
            var at = 0;
            foreach (var section in Sections)
            {
                var found = text.IndexOf("\n" + section + "\n", at, StringComparison.Ordinal);
                Assert.True(found >= 0, $"the report has no section '{section}' (after the one before it):\n{text}");
                at = found + 1;
            }
            // Every judged figure has its row in the summary, with a target and a ratio.
            foreach (var figure in new[] { "Sends over", "One hot group", "Fan-out p99, group of 2 ", "Fan-out p99, group of 10 ",
                         "Fan-out p99, group of 100 ", "Pushes lost", "Idle WebSocket", "Non-AI send p99", "Per-node fan-out work", "Cold GroupActor",
                         "Server CPU per stored message" })
            {
                Assert.Matches(new Regex($@"\n\| {Regex.Escape(figure)}[^\n]*\| [^|\n]+ \|", RegexOptions.None), text);
            }
            Assert.Contains("`--quick`", text, StringComparison.Ordinal);
            Assert.Contains("(benchmarks.png)", text, StringComparison.Ordinal);

            var png = await File.ReadAllBytesAsync(chart);
            Assert.True(png.Length > 1000 && png.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }),
                "the chart is not a PNG");

            Assert.Equal(committedBefore, Fingerprint(committed));
            var scratch = ScratchDirectory().Match(log);
            Assert.True(scratch.Success, "the run names its scratch directory:\n" + log);
            Assert.Empty(ProcessesOf(scratch.Groups[1].Value));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [GeneratedRegex(@"scratch directory (\S+);")]
    private static partial Regex ScratchDirectory();

    /// <summary>Processes the run started are marked with its scratch directory in their environment.</summary>
    private static List<string> ProcessesOf(string scratch)
    {
        var left = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var environment = File.ReadAllText(Path.Combine(dir, "environ"));
                if (environment.Contains(scratch, StringComparison.Ordinal))
                    left.Add($"{pid}: {File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ')}");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }
        return left;
    }

    private static string? Fingerprint(string path) =>
        File.Exists(path) ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))) : null;

    private static string Configuration() =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";

    /// <summary>
    /// Runs the script with its output in a file, not a pipe, so that nothing it leaves behind can
    /// hold this test's streams open; past the budget it gets SIGTERM (its trap stops its servers), then SIGKILL.
    /// </summary>
    private static async Task<(int ExitCode, string Output)> Script(string root, TimeSpan budget, params string[] arguments)
    {
        var log = Path.GetTempFileName();
        try
        {
            var info = new ProcessStartInfo("bash") { WorkingDirectory = root };
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add("exec bash scripts/bench.sh \"$@\" </dev/null >\"$BENCH_TEST_LOG\" 2>&1");
            info.ArgumentList.Add("bench.sh");
            foreach (var argument in arguments) info.ArgumentList.Add(argument);
            info.Environment["BENCH_TEST_LOG"] = log;
            using var process = Process.Start(info)!;
            using var timeout = new CancellationTokenSource(budget);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                    await term.WaitForExitAsync();
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                try
                {
                    await process.WaitForExitAsync(grace.Token);
                }
                catch (OperationCanceledException)
                {
                    process.Kill(entireProcessTree: true);
                }
                return (-1, $"timed out after {budget}:\n{await File.ReadAllTextAsync(log)}");
            }
            return (process.ExitCode, await File.ReadAllTextAsync(log));
        }
        finally
        {
            File.Delete(log);
        }
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ImAkka.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("ImAkka.sln not found");
    }
}
