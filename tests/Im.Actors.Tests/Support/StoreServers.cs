using Im.Actors.Storage;
using Im.Host.Storage;
using Im.TestSupport;
using StackExchange.Redis;

namespace Im.Actors.Tests.Support;

/// <summary>
/// A real RESP server for a test class, and one connection to it. Tests give their store a key
/// prefix of their own, so they never see each other's data.
/// </summary>
public abstract class StoreServer : IAsyncLifetime
{
    private ConnectionMultiplexer? _redis;

    public IConnectionMultiplexer Redis => _redis ?? throw new InvalidOperationException("the server has not started");

    public abstract string ConnectionString { get; }

    protected abstract Task StartServer();

    protected abstract Task StopServer();

    protected virtual Task Cleanup() => Task.CompletedTask;

    /// <summary>A new, separate connection to the same server.</summary>
    public async Task<ConnectionMultiplexer> Connect()
    {
        var options = ConfigurationOptions.Parse(ConnectionString);
        options.AbortOnConnectFail = false;
        var redis = await ConnectionMultiplexer.ConnectAsync(options);
        await Eventually.True(() => redis.IsConnected, TimeSpan.FromSeconds(10), "the store connection");
        return redis;
    }

    /// <summary>A store over <see cref="Redis"/> with a prefix no other test uses.</summary>
    public ImStore NewStore(TimeProvider? clock = null) => NewStore(Redis, UniquePrefix(), clock);

    public static ImStore NewStore(IConnectionMultiplexer redis, string prefix, TimeProvider? clock = null) =>
        new(redis, StoreKeys.For(redis, prefix), clock ?? TimeProvider.System);

    public static string UniquePrefix() => $"t{Guid.NewGuid():N}:";

    /// <summary>Stops the server and starts it again on the same data, then reconnects <see cref="Redis"/>.</summary>
    public async Task Restart()
    {
        await DisposeConnection();
        await StopServer();
        await StartServer();
        _redis = await Connect();
    }

    public async Task InitializeAsync()
    {
        await StartServer();
        _redis = await Connect();
    }

    public async Task DisposeAsync()
    {
        await DisposeConnection();
        await StopServer();
        await Cleanup();
    }

    private async Task DisposeConnection()
    {
        if (_redis is not null) await _redis.DisposeAsync();
        _redis = null;
    }
}

/// <summary>Debian's redis-server in a temporary directory, AOF on.</summary>
public sealed class RedisStoreServer : StoreServer
{
    private RedisServer? _server;

    public override string ConnectionString => _server!.ConnectionString;

    protected override async Task StartServer()
    {
        if (_server is null) _server = await RedisServer.Start();
        else await _server.Launch();
    }

    protected override Task StopServer() => _server?.Stop() ?? Task.CompletedTask;

    // Stop() has already run; this removes the directory.
    protected override async Task Cleanup()
    {
        if (_server is not null) await _server.DisposeAsync();
    }
}

/// <summary>A Redis Cluster of three masters (Debian's redis-server), which a store reaches through any of them.</summary>
public sealed class RedisClusterStoreServer : StoreServer
{
    private RedisCluster? _cluster;

    public override string ConnectionString => _cluster!.ConnectionString;

    protected override async Task StartServer() => _cluster ??= await RedisCluster.Start();

    // A restart of a whole cluster is not what these specs check; the cluster stops with the class.
    protected override Task StopServer() => Task.CompletedTask;

    protected override async Task Cleanup()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
    }
}

/// <summary>The embedded Garnet of Im.Host, durable in a temporary directory.</summary>
public sealed class GarnetStoreServer : StoreServer
{
    private readonly string _directory = Directory.CreateTempSubdirectory("im-garnet-").FullName;
    private EmbeddedGarnet? _garnet;

    public override string ConnectionString => _garnet!.ConnectionString;

    protected override Task StartServer()
    {
        _garnet = EmbeddedGarnet.Start(_directory);
        return Task.CompletedTask;
    }

    protected override Task StopServer()
    {
        _garnet?.Dispose();
        _garnet = null;
        return Task.CompletedTask;
    }

    protected override Task Cleanup()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
        return Task.CompletedTask;
    }
}

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; private set; } = start;

    public override DateTimeOffset GetUtcNow() => Now;

    public void Advance(TimeSpan by) => Now += by;
}
