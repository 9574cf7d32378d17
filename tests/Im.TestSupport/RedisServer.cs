using System.Diagnostics;
using StackExchange.Redis;

namespace Im.TestSupport;

/// <summary>
/// A real <c>redis-server</c> on a free loopback port, AOF on with fsync always, in a temporary
/// directory; stopped and removed on dispose. <c>.ci/run</c> installs Debian's redis-server.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string _directory;
    private readonly string[] _arguments;
    private Process? _process;

    private RedisServer(string directory, int port, string[] arguments)
    {
        _directory = directory;
        Port = port;
        _arguments = arguments;
    }

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <param name="arguments">More of redis-server's options, e.g. <c>--requirepass</c> or <c>--cluster-enabled yes</c>.</param>
    public static async Task<RedisServer> Start(params string[] arguments)
    {
        var directory = Directory.CreateTempSubdirectory("im-redis-").FullName;
        var server = new RedisServer(directory, Ports.FreeLoopbackPort(), arguments);
        await server.Launch();
        return server;
    }

    /// <summary>Starts (again) on the same port and directory: a restart keeps the AOF.</summary>
    public async Task Launch()
    {
        var executable = FindExecutable();
        var start = new ProcessStartInfo(executable)
        {
            ArgumentList =
            {
                "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                "--dir", _directory, "--appendonly", "yes", "--appendfsync", "always", "--save", "",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in _arguments) start.ArgumentList.Add(argument);
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await Eventually.True(async () =>
        {
            try
            {
                await using var probe = await ConnectionMultiplexer.ConnectAsync(ConnectionString + ",connectTimeout=500");
                await probe.GetDatabase().PingAsync();
                return true;
            }
            catch (RedisConnectionException refused)
            {
                // A server with a password is up once it refuses a connection without one.
                return refused.FailureType == ConnectionFailureType.AuthenticationFailure;
            }
        }, TimeSpan.FromSeconds(20), $"redis-server on port {Port}");
    }

    public async Task Stop()
    {
        if (_process is null) return;
        _process.Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await Stop();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string FindExecutable()
    {
        foreach (var candidate in new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" })
        {
            if (File.Exists(candidate)) return candidate;
        }
        throw new InvalidOperationException("redis-server is not installed; run .ci/run, or apt-get install redis-server");
    }
}
