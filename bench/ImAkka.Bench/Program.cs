using ImAkka.Bench;

// The benchmark's orchestrator and load generator (scripts/bench.sh runs it). It starts Redis,
// ImAkka and the baselines as processes of their own, drives them in alternating rounds, and writes
// the report and its chart. Every server it started is killed when it ends, however it ends.
//
//   ImAkka.Bench [--quick] [--out FILE.md] [--chart FILE.png] [--tools DIR] [--work DIR] [--only PHASE,...]
//   ImAkka.Bench summarize TRACE.speedscope.json
if (args is ["summarize", var file])
{
    // For reading a kept trace again: the same reduction the report prints.
    var p = Profiler.Summarize(Path.GetFileName(file), file, 0, 0);
    Console.WriteLine($"managed CPU {p.ManagedCpuMs:0} ms, native outside waits {p.NativeOtherMs:0} ms");
    foreach (var a in p.Areas) Console.WriteLine($"  area   {a.Percent,5:0.0} %  {a.Name}");
    foreach (var m in p.Exclusive) Console.WriteLine($"  self   {m.Percent,5:0.0} %  {m.Name}");
    foreach (var m in p.InclusiveOwn) Console.WriteLine($"  total  {m.Percent,5:0.0} %  {m.Name}");
    return 0;
}
var quick = args.Contains("--quick");
string? Option(string name)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
}

var repo = Paths.FindRepo();
var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
    ? "Debug" : "Release";
var output = Path.GetFullPath(Option("--out") ?? Path.Combine(repo, "docs", "BENCHMARKS.md"));
var chart = Path.GetFullPath(Option("--chart")
    ?? (Option("--out") is null ? Path.Combine(repo, "docs", "images", "benchmarks.png") : Path.ChangeExtension(output, ".png")));
var work = Option("--work") ?? Directory.CreateTempSubdirectory("imakka-bench-").FullName;
var paths = new Paths(repo, configuration, work);
foreach (var dll in new[] { paths.HostDll, paths.BaselinesDll })
{
    if (!File.Exists(dll))
    {
        Console.Error.WriteLine($"[bench] {dll} is missing: build the solution in {configuration} first (scripts/bench.sh does)");
        return 2;
    }
}

Children.KillAllOnExit();
var settings = quick ? Settings.QuickRun : Settings.Full;
var profiler = new Profiler(quick ? null : Option("--tools"), work);
Progress.Line($"{(quick ? "quick" : "full")} run; scratch directory {work}; report {output}");
if (!quick && !profiler.Enabled) Progress.Line("dotnet-trace not found (--tools): the report will have no profiles");

var only = Option("--only") is { } phases ? phases.Split(',').ToHashSet(StringComparer.Ordinal) : null;
var bench = new Bench(settings, paths, profiler, only);
try
{
    await bench.Run();
}
catch (Exception ex)
{
    Console.Error.WriteLine($"[bench] failed: {ex}");
    Console.Error.WriteLine($"[bench] the servers' logs are in {Path.Combine(work, "logs")}");
    Children.KillAll();
    return 1;
}
finally
{
    Children.KillAll();
    await bench.DisposeAsync();
}

if (only is not null)
{
    Progress.Line("--only: no report written");
    return 0;
}
var results = bench.Results;
results.Duration = Progress.Elapsed;
results.LoadAverageAfter = MachineInfo.CurrentLoadAverage();
var chartRelative = Path.GetRelativePath(Path.GetDirectoryName(output)!, chart).Replace('\\', '/');
var markdown = Report.Write(results, settings, chartRelative);
Directory.CreateDirectory(Path.GetDirectoryName(output)!);
await File.WriteAllTextAsync(output, markdown);
var font = new[] { "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf" }.Concat(
        Directory.Exists("/usr/share/fonts") ? Directory.EnumerateFiles("/usr/share/fonts", "DejaVuSans.ttf", SearchOption.AllDirectories) : [])
    .FirstOrDefault(File.Exists) ?? "";
Chart.Write(Headlines.All(results), chart,
    font, $"ImAkka against same-run baselines — {results.Machine.Date}, {results.Machine.Commit}{(quick ? ", --quick" : "")}");
Progress.Line($"wrote {output} and {chart} in {Fmt.D(Progress.Elapsed.TotalSeconds, "0")} s");
return 0;
