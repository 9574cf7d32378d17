using System.Globalization;
using System.Net.Sockets;

namespace ImAkka.Bench;

/// <summary>Where things are: the repository, its build output, the run's scratch directory.</summary>
public sealed record Paths(string Repo, string Configuration, string Work)
{
    public string HostDll => Path.Combine(Repo, "src", "Im.Host", "bin", Configuration, "net10.0", "Im.Host.dll");
    public string BaselinesDll => Path.Combine(Repo, "bench", "Baselines", "bin", Configuration, "net10.0", "Baselines.dll");
    public string Log(string name) => Path.Combine(Work, "logs", name + ".log");

    public static string FindRepo()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "ImAkka.sln"))) return dir.FullName;
            }
        }
        throw new InvalidOperationException("ImAkka.sln not found above the working directory or the bench's binary");
    }
}

/// <summary>A server under load: ImAkka or a baseline, with its process for CPU and memory.</summary>
public sealed class Server(string name, Child process, Uri baseAddress)
{
    public string Name { get; } = name;
    public Child Process { get; } = process;
    public Uri Base { get; } = baseAddress;

    public Uri Ws(string userId) => new UriBuilder(Base) { Scheme = "ws", Path = "/ws/" + Uri.EscapeDataString(userId) }.Uri;
}

public static class Servers
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    public static async Task<(Child Process, int Port)> StartRedis(Paths paths)
    {
        var port = Ports.Free();
        var dir = Path.Combine(paths.Work, "redis");
        Directory.CreateDirectory(dir);
        var executable = new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("redis-server is not installed (scripts/bench.sh installs Debian's redis-server as root)");
        // No persistence: the disk is the same for ImAkka and its baselines and would only add the
        // shared machine's I/O noise; the comparison is of the servers' own work per message.
        var child = Child.Start("redis", executable,
            ["--port", Num(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--protected-mode", "yes"],
            new Dictionary<string, string>(), paths.Log("redis"));
        await Until(() => Task.FromResult(Listening(port)), $"redis-server on port {port}", child);
        return (child, port);
    }

    /// <summary>
    /// How many PUBLISH commands the Redis on <paramref name="port"/> has run, from clients and from scripts alike
    /// (<c>INFO commandstats</c>): every event the store put on a channel, whoever reads it.
    /// </summary>
    public static async Task<long> RedisPublishes(int port)
    {
        var cli = new[] { "/usr/bin/redis-cli", "/usr/local/bin/redis-cli" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("redis-cli is not installed (it comes with Debian's redis-server)");
        var stats = await Profiler.Run(cli, ["-h", "127.0.0.1", "-p", Num(port), "info", "commandstats"]);
        var line = stats.Split('\n').FirstOrDefault(l => l.StartsWith("cmdstat_publish:calls=", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line["cmdstat_publish:calls=".Length..].Split(',')[0], CultureInfo.InvariantCulture);
    }

    /// <param name="extra">Settings beyond the bench's own, e.g. cluster seeds or the passivation time.</param>
    public static async Task<Server> StartImAkka(Paths paths, string name, int redisPort, string keyPrefix, string aiEndpoint,
        IDictionary<string, string>? extra = null, int? port = null)
    {
        var httpPort = port ?? Ports.Free();
        var env = new Dictionary<string, string>
        {
            ["ConnectionStrings__Redis"] = $"127.0.0.1:{Num(redisPort)}",
            ["Redis__KeyPrefix"] = keyPrefix,
            ["Im__DataDir"] = Path.Combine(paths.Work, name + "-data"),
            // Rate limits off: the bench sends far faster than one user would.
            ["Im__SendRatePerSecond"] = "0",
            ["Im__MaxConnectionsPerUser"] = "100000",
            ["Ai__Endpoint"] = aiEndpoint,
            ["Ai__MaxConcurrency"] = "1000",
            // A request line per request is not what a server under load should pay for; the baselines write none.
            ["Logging__LogLevel__Default"] = "Warning",
            ["Akka__Hostname"] = "127.0.0.1",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>()) env[key] = value;
        var url = $"http://127.0.0.1:{Num(httpPort)}";
        var child = Child.Start(name, "dotnet", [paths.HostDll, "--urls", url], env, paths.Log(name), Path.GetDirectoryName(paths.HostDll));
        var server = new Server(name, child, new Uri(url));
        await Until(() => Answers(server.Base, "/health/ready"), $"{name} ready on {url}", child);
        return server;
    }

    public static async Task<Server> StartBaseline(Paths paths, string name, string mode, int? redisPort = null)
    {
        var port = Ports.Free();
        var url = $"http://127.0.0.1:{Num(port)}";
        var arguments = new List<string> { paths.BaselinesDll, "--mode", mode, "--urls", url };
        if (redisPort is { } redis) arguments.AddRange(["--redis", $"127.0.0.1:{Num(redis)}", "--prefix", "bare:"]);
        var child = Child.Start(name, "dotnet", arguments, new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1" },
            paths.Log(name), Path.GetDirectoryName(paths.BaselinesDll));
        var server = new Server(name, child, new Uri(url));
        Func<Task<bool>> ready = mode == "echo" ? () => Task.FromResult(Listening(port)) : () => Answers(server.Base, "/stats");
        await Until(ready, $"{name} on {url}", child);
        return server;
    }

    private static readonly HttpClient Probe = new() { Timeout = TimeSpan.FromSeconds(2) };

    private static async Task<bool> Answers(Uri baseAddress, string path)
    {
        try
        {
            using var response = await Probe.GetAsync(new Uri(baseAddress, path));
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private static bool Listening(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public static async Task Until(Func<Task<bool>> condition, string what, Child? process = null, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? StartTimeout);
        while (!await condition())
        {
            if (process is { HasExited: true }) throw new InvalidOperationException($"{process.Name} exited while waiting for {what}; see its log");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }

    public static string Num(long value) => value.ToString(CultureInfo.InvariantCulture);
}
