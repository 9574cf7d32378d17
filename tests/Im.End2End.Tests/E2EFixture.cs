using Im.TestSupport;

namespace Im.End2End.Tests;

/// <summary>End-to-end classes share one collection so no two of them load the machine at once.</summary>
[CollectionDefinition(Name)]
public sealed class EndToEnd : ICollectionFixture<E2EFixture>
{
    public const string Name = "end-to-end";
}

/// <summary>One host on the embedded store, calling the stand-in AI service with a 2 s timeout.</summary>
public class E2EFixture : IAsyncLifetime
{
    public StandInAiServer Ai { get; private set; } = null!;
    public HostProcess Host { get; private set; } = null!;
    public ImApi Api => Host.Api;

    public async Task InitializeAsync()
    {
        Ai = await StandInAiServer.Start();
        Host = await HostProcess.Start(new Dictionary<string, string>(await StoreSettings())
        {
            ["Ai__Endpoint"] = Ai.Url,
            ["Ai__TimeoutSeconds"] = "2",
            ["Ai__ContextMessages"] = "5",
            ["Ai__SystemPrompt"] = "test system prompt",
            // The specs sharing this host fail AI calls on purpose, in any order: the breaker would open
            // between them. It has a host of its own in AiStreamingSpecs.
            ["Ai__BreakerFailures"] = "1000000",
        });
    }

    public Task<WsClient> Connect(string userId) => WsClient.Connect(Host.BaseAddress, userId);

    /// <summary>The host's store settings: none, the embedded store.</summary>
    protected virtual Task<IReadOnlyDictionary<string, string>> StoreSettings() =>
        Task.FromResult<IReadOnlyDictionary<string, string>>(new Dictionary<string, string>());

    public virtual async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Ai.DisposeAsync();
    }
}

/// <summary>The same host on a Redis Cluster of three masters, reached through all of them.</summary>
public sealed class RedisClusterE2EFixture : E2EFixture
{
    private RedisCluster? _cluster;

    protected override async Task<IReadOnlyDictionary<string, string>> StoreSettings()
    {
        _cluster = await RedisCluster.Start();
        return new Dictionary<string, string> { ["ConnectionStrings__Redis"] = _cluster.ConnectionString };
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_cluster is not null) await _cluster.DisposeAsync();
    }
}
