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
    private Process? _process;

    private RedisServer(string directory, int port)
    {
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> Start()
    {
        var directory = Directory.CreateTempSubdirectory("im-redis-").FullName;
        var server = new RedisServer(directory, Ports.FreeLoopbackPort());
        await server.Launch();
        return server;
    }

    /// <summary>Starts (again) on the same port and directory: a restart keeps the AOF.</summary>
    public async Task Launch()
    {
        var executable = FindExecutable();
        _process = Process.Start(new ProcessStartInfo(executable)
        {
            ArgumentList =
            {
                "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                "--dir", _directory, "--appendonly", "yes", "--appendfsync", "always", "--save", "",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
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
            catch (RedisConnectionException)
            {
                return false;
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
