using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Coordination;
using StackExchange.Redis;

namespace Im.Actors.Clustering;

/// <summary>Hands the lease its Redis connection through the ActorSystem's setup.</summary>
public sealed class RedisLeaseSetup(IConnectionMultiplexer redis, string keyPrefix) : Setup
{
    public IConnectionMultiplexer Redis { get; } = redis;
    public string KeyPrefix { get; } = keyPrefix;
}

/// <summary>
/// An Akka.Coordination lease held in Redis, for the split-brain resolver's lease-majority
/// strategy: when members become unreachable, the side that takes this lease stays up and downs
/// the other. Redis is the one thing every node already shares, so a crashed node (which cannot
/// take it) is always the one downed, and in a real partition only one side survives.
/// The lease is a key holding its owner with a time-to-live (<c>heartbeat-timeout</c>), renewed
/// every <c>heartbeat-interval</c> while held, so a holder that dies frees it on its own.
/// </summary>
public sealed class RedisLease : Lease, IDisposable
{
    // KEYS: lease. ARGV: owner, ttl ms. Takes a free lease or renews our own; 0 when another owner has it.
    private const string TakeOrRenew = """
        local holder = redis.call('GET', KEYS[1])
        if holder == ARGV[1] then
            redis.call('PEXPIRE', KEYS[1], ARGV[2])
            return 1
        end
        if holder then return 0 end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        return 1
        """;

    // KEYS: lease. ARGV: owner. Deletes the lease only if we hold it.
    private const string ReleaseIfOwner = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """;

    private readonly IDatabase _redis;
    private readonly RedisKey _key;
    private readonly string _owner;
    private readonly long _ttlMilliseconds;
    private readonly TimeSpan _heartbeat;
    private readonly object _gate = new();
    private Timer? _renewal;
    private Action<Exception>? _onLost;
    private volatile bool _held;

    public RedisLease(LeaseSettings settings, ExtendedActorSystem system) : base(settings)
    {
        var setup = system.Settings.Setup.Get<RedisLeaseSetup>();
        if (!setup.HasValue)
            throw new InvalidOperationException("RedisLease needs a RedisLeaseSetup in the ActorSystem's setup.");
        _redis = setup.Value.Redis.GetDatabase();
        _key = setup.Value.KeyPrefix + "lease:" + settings.LeaseName;
        _owner = settings.OwnerName;
        _ttlMilliseconds = (long)settings.TimeoutSettings.HeartbeatTimeout.TotalMilliseconds;
        _heartbeat = settings.TimeoutSettings.HeartbeatInterval;
    }

    public override Task<bool> Acquire() => Acquire(null);

    public override async Task<bool> Acquire(Action<Exception>? leaseLostCallback)
    {
        if (!await TryTakeOrRenew()) return false;
        lock (_gate)
        {
            _held = true;
            _onLost = leaseLostCallback;
            _renewal ??= new Timer(_ => _ = Renew(), null, _heartbeat, _heartbeat);
        }
        return true;
    }

    public override async Task<bool> Release()
    {
        StopRenewing();
        return (long)await _redis.ScriptEvaluateAsync(ReleaseIfOwner, [_key], [_owner]) == 1;
    }

    public override bool CheckLease() => _held;

    public void Dispose() => StopRenewing();

    private async Task<bool> TryTakeOrRenew() =>
        (long)await _redis.ScriptEvaluateAsync(TakeOrRenew, [_key], [_owner, _ttlMilliseconds]) == 1;

    private async Task Renew()
    {
        Exception? lost = null;
        try
        {
            if (!await TryTakeOrRenew()) lost = new LeaseException($"lease {_key} was taken by another owner");
        }
        catch (RedisException ex)
        {
            lost = new LeaseException($"lease {_key} could not be renewed", ex);
        }
        if (lost is null) return;
        Action<Exception>? onLost;
        lock (_gate)
        {
            onLost = _onLost;
        }
        StopRenewing();
        onLost?.Invoke(lost);
    }

    private void StopRenewing()
    {
        lock (_gate)
        {
            _held = false;
            _renewal?.Dispose();
            _renewal = null;
        }
    }
}
