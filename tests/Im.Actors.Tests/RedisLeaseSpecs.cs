using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Coordination;
using Im.Actors.Clustering;
using Im.Actors.Tests.Support;
using Im.TestSupport;

namespace Im.Actors.Tests;

/// <summary>The split-brain resolver's lease against a real redis-server: one holder at a time, and a dead holder's lease expires.</summary>
public sealed class RedisLeaseSpecs : IClassFixture<RedisStoreServer>, IAsyncLifetime
{
    // Five renewals per time-to-live: a loaded CI machine (the suite runs classes in parallel) can hold a
    // timer back for a few hundred milliseconds, and a lease lost to that would be the test's fault, not the lease's.
    private static readonly TimeSpan Heartbeat = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan Ttl = TimeSpan.FromMilliseconds(1500);
    private readonly ActorSystem _system;
    private readonly RedisStoreServer _server;
    private readonly string _prefix = StoreServer.UniquePrefix();

    public RedisLeaseSpecs(RedisStoreServer server)
    {
        _server = server;
        var setup = BootstrapSetup.Create().WithConfig(ConfigurationFactory.ParseString("akka.loglevel = WARNING"))
            .And(new RedisLeaseSetup(server.Redis, _prefix));
        _system = ActorSystem.Create("lease-specs", setup);
    }

    private RedisLease Lease(string owner) =>
        new(new LeaseSettings("sbr", owner, new TimeoutSettings(Heartbeat, Ttl, TimeSpan.FromSeconds(3)), Config.Empty),
            (ExtendedActorSystem)_system);

    [Fact]
    public async Task Should_grant_the_lease_to_one_owner_at_a_time()
    {
        using var first = Lease("node-a");
        using var second = Lease("node-b");

        Assert.True(await first.Acquire());
        Assert.False(await second.Acquire());
        Assert.True(first.CheckLease());
        Assert.False(second.CheckLease());
        Assert.True(await first.Acquire(), "the holder may take it again");

        Assert.True(await first.Release());
        Assert.False(first.CheckLease());
        Assert.True(await second.Acquire());
    }

    [Fact]
    public async Task Should_keep_a_held_lease_alive_past_its_ttl_by_renewing_it()
    {
        using var holder = Lease("node-a");
        using var contender = Lease("node-b");
        Assert.True(await holder.Acquire());

        // Three time-to-lives later the renewals have kept it.
        var until = DateTime.UtcNow + Ttl * 3;
        await Eventually.True(() => DateTime.UtcNow > until, Ttl * 4, "three TTLs to pass");
        Assert.False(await contender.Acquire());
        Assert.True(holder.CheckLease());
    }

    [Fact]
    public async Task Should_free_the_lease_of_a_holder_that_stopped_renewing()
    {
        var crashed = Lease("node-a");
        using var survivor = Lease("node-b");
        Assert.True(await crashed.Acquire());
        crashed.Dispose(); // stops renewing, as a killed process would, without releasing

        await Eventually.True(() => survivor.Acquire(), Ttl * 5, "the survivor to take the expired lease");
        Assert.True(survivor.CheckLease());
    }

    [Fact]
    public async Task Should_tell_the_holder_when_another_owner_took_the_lease()
    {
        var lost = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var holder = Lease("node-a");
        Assert.True(await holder.Acquire(ex => lost.TrySetResult(ex)));

        // Another owner holds it now, as after an expiry during a long pause of the holder.
        await _server.Redis.GetDatabase().StringSetAsync(_prefix + "lease:sbr", "node-b", Ttl * 10);

        var reason = await lost.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.IsType<LeaseException>(reason);
        Assert.False(holder.CheckLease());
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _system.Terminate();
}
