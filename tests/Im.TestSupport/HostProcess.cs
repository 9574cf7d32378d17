using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;

namespace Im.TestSupport;

/// <summary>
/// Im.Host as a real process on a loopback port, started from its build output with
/// <c>dotnet Im.Host.dll</c>, so tests can restart it, SIGTERM it or kill -9 it.
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly Dictionary<string, string> _environment;
    private readonly ConcurrentQueue<string> _output = new();
    private Process? _process;

    private readonly string _readyPath;
    private readonly string? _listenUrl;

    private HostProcess(Dictionary<string, string> environment, int port, string readyPath, string? listenUrl)
    {
        _environment = environment;
        _readyPath = readyPath;
        _listenUrl = listenUrl;
        Port = port;
        BaseAddress = new Uri($"http://127.0.0.1:{port}");
        Http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public int Port { get; }
    public Uri BaseAddress { get; }
    public HttpClient Http { get; }
    public ImApi Api => new(Http);

    /// <summary>What the host printed, for a failing test's message.</summary>
    public string Output => string.Join('\n', _output);

    /// <param name="environment">Settings by their environment names, e.g. <c>Ai__Endpoint</c>.</param>
    /// <param name="readyPath">What must answer 200 before the host counts as started.</param>
    /// <param name="listenHost">Where the host listens (default 127.0.0.1); tests still call it on loopback.</param>
    public static async Task<HostProcess> Start(IDictionary<string, string> environment, int? port = null,
        string readyPath = "/health/ready", string? listenHost = null)
    {
        var settings = new Dictionary<string, string>(environment) { ["DOTNET_gcServer"] = "0" };
        settings.TryAdd("Akka__SerializeMessages", "true");
        settings.TryAdd("Im__DataDir", Directory.CreateTempSubdirectory("im-data-").FullName);
        settings.TryAdd("Logging__LogLevel__Default", "Warning");
        var actualPort = port ?? Ports.FreeLoopbackPort();
        var host = new HostProcess(settings, actualPort, readyPath,
            listenHost is null ? null : $"http://{listenHost}:{actualPort.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        await host.Launch();
        return host;
    }

    public string DataDir => _environment["Im__DataDir"];

    public async Task Launch()
    {
        var info = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { HostDll(), "--urls", _listenUrl ?? BaseAddress.ToString().TrimEnd('/') },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(HostDll())!,
        };
        foreach (var (name, value) in _environment) info.Environment[name] = value;
        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        if (System.Environment.GetEnvironmentVariable("IM_TEST_HOST_LOGS") is { Length: > 0 } logs)
        {
            // For debugging a failing run: every host's output in a file of its own.
            var file = Path.Combine(logs, $"host-{Port}.log");
            Directory.CreateDirectory(logs);
            _process.OutputDataReceived += (_, e) => { lock (_output) File.AppendAllText(file, e.Data + "\n"); };
            _process.ErrorDataReceived += (_, e) => { lock (_output) File.AppendAllText(file, e.Data + "\n"); };
        }
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await Eventually.True(async () =>
        {
            if (_process.HasExited) throw new InvalidOperationException($"Im.Host exited with {_process.ExitCode}:\n{Output}");
            try
            {
                using var response = await Http.GetAsync(_readyPath);
                return response.StatusCode == HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, StartTimeout, $"Im.Host ready on {BaseAddress}");
    }

    /// <summary>kill -9: no shutdown hooks, no flush.</summary>
    public async Task Kill()
    {
        if (_process is null) return;
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
        _process = null;
    }

    /// <summary>SIGTERM, then waits for a graceful exit.</summary>
    public async Task Stop()
    {
        if (_process is null) return;
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await Stop();
        Http.Dispose();
    }

    private static string HostDll()
    {
        var here = AppContext.BaseDirectory;
        var configuration = here.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
            ? "Release" : "Debug";
        var root = new DirectoryInfo(here);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "ImAkka.sln"))) root = root.Parent;
        if (root is null) throw new InvalidOperationException("ImAkka.sln not found above " + here);
        var dll = Path.Combine(root.FullName, "src", "Im.Host", "bin", configuration, "net10.0", "Im.Host.dll");
        return File.Exists(dll) ? dll : throw new InvalidOperationException($"{dll} is missing; build the solution first");
    }
}
