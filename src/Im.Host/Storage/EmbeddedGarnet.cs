using System.Net;
using System.Net.Sockets;
using Garnet;
using Microsoft.Extensions.Logging.Abstractions;

namespace Im.Host.Storage;

/// <summary>
/// The default store: a Garnet server in this process on a loopback port, durable under the data
/// directory. Every write is committed to the append-only file before Garnet answers
/// (<c>--aof-commit-freq 0 --aof-commit-wait</c>), so an acknowledged write survives kill -9;
/// <c>--recover</c> replays it on the next start.
/// </summary>
public sealed class EmbeddedGarnet : IDisposable
{
    private readonly GarnetServer _server;

    private EmbeddedGarnet(GarnetServer server, int port)
    {
        _server = server;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port},abortConnect=false";

    public static EmbeddedGarnet Start(string dataDirectory)
    {
        var directory = Path.GetFullPath(dataDirectory);
        Directory.CreateDirectory(directory);
        var port = FreeLoopbackPort();
        string[] args =
        [
            "--bind", "127.0.0.1",
            "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--storage-tier",
            "--checkpointdir", Path.Combine(directory, "checkpoints"),
            "--logdir", Path.Combine(directory, "log"),
            // The native device needs libaio, which a bare Debian lacks.
            "--device-type", "RandomAccess",
            "--aof",
            "--aof-commit-freq", "0",
            "--aof-commit-wait",
            "--recover",
            "--lua", "true",
        ];
        // Garnet prints a banner straight to the console; the host's own log says where the store is.
        // The lock keeps two starts in one process (tests) from leaving the console silenced.
        lock (ConsoleSwap)
        {
            return StartQuietly(args, port);
        }
    }

    private static readonly object ConsoleSwap = new();

    private static EmbeddedGarnet StartQuietly(string[] args, int port)
    {
        var console = Console.Out;
        Console.SetOut(TextWriter.Null);
        try
        {
            var server = new GarnetServer(args, NullLoggerFactory.Instance);
            server.Start();
            return new EmbeddedGarnet(server, port);
        }
        finally
        {
            Console.SetOut(console);
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose() => _server.Dispose();
}
