using Im.TestSupport;

namespace Im.End2End.Tests;

/// <summary>End-to-end classes share one collection so no two of them load the machine at once.</summary>
[CollectionDefinition(Name)]
public sealed class EndToEnd : ICollectionFixture<E2EFixture>
{
    public const string Name = "end-to-end";
}

/// <summary>One host on the embedded store, calling the stand-in AI service with a 2 s timeout.</summary>
public sealed class E2EFixture : IAsyncLifetime
{
    public StandInAiServer Ai { get; private set; } = null!;
    public HostProcess Host { get; private set; } = null!;
    public ImApi Api => Host.Api;

    public async Task InitializeAsync()
    {
        Ai = await StandInAiServer.Start();
        Host = await HostProcess.Start(new Dictionary<string, string>
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

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Ai.DisposeAsync();
    }
}
