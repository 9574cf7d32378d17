using Im.TestSupport;

namespace Im.End2End.Tests;

/// <summary>
/// A stand-in AI and a host of a spec class's own, whose AI timeout (10 s) leaves room for a whole
/// <c>#trickle</c> reply, so a reply can still be being written when a spec acts on it. Stopped
/// calls and refusals are what these specs cause on purpose, so the breaker never opens.
/// </summary>
public sealed class TrickleHost : IAsyncLifetime
{
    public StandInAiServer Ai { get; private set; } = null!;
    public HostProcess Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Ai = await StandInAiServer.Start();
        Host = await HostProcess.Start(new Dictionary<string, string>
        {
            ["Ai__Endpoint"] = Ai.Url,
            ["Ai__TimeoutSeconds"] = "10",
            ["Ai__BreakerFailures"] = "1000000",
        });
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Ai.DisposeAsync();
    }
}
