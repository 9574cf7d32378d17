using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Im.Contracts;
using Im.TestSupport;
using Xunit.Abstractions;

namespace Im.End2End.Tests;

/// <summary>
/// scripts/cluster.sh, as someone without Docker runs it: <c>up 2</c> gives two ready nodes in one
/// cluster over one redis-server, <c>down</c> leaves nothing listening. The script uses fixed ports
/// (redis 6380, HTTP 8001.., Akka 4053..) and the repository's .cluster/ directory.
/// </summary>
[Collection(EndToEnd.Name)]
public sealed class ClusterScriptSpecs(ITestOutputHelper output)
{
    // up builds Im.Host in Release (from scratch when a Debug test run is the only build so far),
    // then waits at most 90 s for readiness; down waits at most 30 s before SIGKILL, then stops redis.
    private static readonly TimeSpan UpTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan DownTimeout = TimeSpan.FromSeconds(90);
    private static readonly int[] Ports = [6380, 8001, 8002, 4053, 4054];

    [Fact]
    public async Task Should_start_two_clustered_nodes_over_one_redis_and_stop_them_all()
    {
        var busy = await Listening(Ports);
        Assert.True(busy.Count == 0, $"ports {string.Join(", ", busy)} are taken on 127.0.0.1 before the test starts "
            + "(a cluster left running? run scripts/cluster.sh down)");

        (int ExitCode, string Output) down;
        try
        {
            var up = await Script(UpTimeout, "up", "2");
            Assert.True(up.ExitCode == 0, $"cluster.sh up 2 exited with {up.ExitCode}:\n{up.Output}");

            using var node1 = new HttpClient { BaseAddress = new Uri("http://127.0.0.1:8001"), Timeout = TimeSpan.FromSeconds(10) };
            using var node2 = new HttpClient { BaseAddress = new Uri("http://127.0.0.1:8002"), Timeout = TimeSpan.FromSeconds(10) };
            foreach (var node in new[] { node1, node2 })
            {
                using var ready = await node.GetAsync("/health/ready");
                Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            }

            // Written through node 1, read through node 2: one store, one cluster.
            var created = await new ImApi(node1).CreateUser(UserRoles.Doctor, "x");
            Assert.StartsWith("user_", created.UserId, StringComparison.Ordinal);
            var (status, body) = await new ImApi(node2).Get($"/api/user/{created.UserId}");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(created.UserId, (string?)body!["user_id"]);
            Assert.Equal("x", (string?)body["username"]);
            Assert.Equal(UserRoles.Doctor, (string?)body["user_role"]);

            var state = await Script(TimeSpan.FromSeconds(30), "status");
            Assert.True(state.ExitCode == 0, $"cluster.sh status exited with {state.ExitCode}:\n{state.Output}");
        }
        finally
        {
            down = await Script(DownTimeout, "down");
        }

        Assert.True(down.ExitCode == 0, $"cluster.sh down exited with {down.ExitCode}:\n{down.Output}");
        // The processes have exited when down returns, so their sockets are closed already.
        busy = await Listening(Ports);
        Assert.True(busy.Count == 0, $"still listening after cluster.sh down: {string.Join(", ", busy)}\n{down.Output}");
    }

    /// <summary>
    /// Runs scripts/cluster.sh with its output in a file, not a pipe: the nodes it leaves running must
    /// not be able to hold this test's streams open.
    /// </summary>
    private async Task<(int ExitCode, string Output)> Script(TimeSpan timeout, params string[] arguments)
    {
        var root = RepoRoot();
        var log = Path.GetTempFileName();
        try
        {
            var info = new ProcessStartInfo("bash") { WorkingDirectory = root };
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add("exec bash \"$0\" \"$@\" </dev/null >\"$CLUSTER_TEST_LOG\" 2>&1");
            info.ArgumentList.Add(Path.Combine(root, "scripts", "cluster.sh"));
            foreach (var argument in arguments) info.ArgumentList.Add(argument);
            info.Environment["CLUSTER_TEST_LOG"] = log;
            // The nodes use the built-in AI stand-in whatever this machine sets.
            foreach (var name in new[] { "AI_ENDPOINT", "AI_API_KEY", "AI_MODEL" }) info.Environment.Remove(name);

            using var process = Process.Start(info)!;
            using var cancel = new CancellationTokenSource(timeout);
            var timedOut = false;
            try
            {
                await process.WaitForExitAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                timedOut = true;
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
            var text = await File.ReadAllTextAsync(log);
            output.WriteLine($"$ scripts/cluster.sh {string.Join(' ', arguments)}\n{text}");
            return timedOut
                ? (-1, $"timed out after {timeout}\n{text}")
                : (process.ExitCode, text);
        }
        finally
        {
            File.Delete(log);
        }
    }

    /// <summary>The ports among <paramref name="ports"/> on which something accepts a connection on 127.0.0.1.</summary>
    private static async Task<List<int>> Listening(IEnumerable<int> ports)
    {
        var listening = new List<int>();
        foreach (var port in ports)
        {
            using var client = new TcpClient();
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await client.ConnectAsync(IPAddress.Loopback, port, bound.Token);
                listening.Add(port);
            }
            catch (SocketException)
            {
            }
            catch (OperationCanceledException)
            {
                listening.Add(port); // accepted by nobody yet not refused: something holds the port
            }
        }
        return listening;
    }

    private static string RepoRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "ImAkka.sln"))) directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("ImAkka.sln not found above " + AppContext.BaseDirectory);
    }
}
