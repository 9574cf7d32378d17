using System.Threading.RateLimiting;

namespace Im.Actors;

/// <summary>
/// Sends per user, REST and WebSocket together (<c>Im__SendRatePerSecond</c>, <c>Im__SendBurst</c>):
/// a token bucket per user that holds <c>burst</c> sends and refills <c>rate</c> a second. A send
/// over the limit is refused before it is even validated, so a flood never reaches the group's
/// single writer and the other members' sends keep their pace. Per node: a user spread over
/// several nodes gets the rate on each.
/// </summary>
public sealed class SendRateLimiter : IDisposable
{
    public static readonly SendRateLimiter Unlimited = new(0, 0);

    private readonly PartitionedRateLimiter<string>? _buckets;

    /// <param name="ratePerSecond">0 turns the limit off.</param>
    public SendRateLimiter(int ratePerSecond, int burst)
    {
        if (ratePerSecond <= 0) return;
        var options = new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, burst),
            TokensPerPeriod = ratePerSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            // The partitioned limiter refills its buckets on its own timer, not one timer per user;
            // it also drops a user's bucket once it has been full for a while, so memory stays bounded.
            AutoReplenishment = false,
        };
        _buckets = PartitionedRateLimiter.Create<string, string>(
            userId => RateLimitPartition.GetTokenBucketLimiter(userId, _ => options), StringComparer.Ordinal);
    }

    /// <summary>Takes one send from the user's bucket: null when it may go ahead, else how long until it may.</summary>
    public TimeSpan? TryAcquire(string userId)
    {
        if (_buckets is null) return null;
        using var lease = _buckets.AttemptAcquire(userId);
        if (lease.IsAcquired) return null;
        return lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(1);
    }

    /// <summary>A wait in whole seconds, at least 1, as <c>Retry-After</c> and <c>retry_after</c> carry it.</summary>
    public static int Seconds(TimeSpan retryAfter) => Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));

    public void Dispose() => _buckets?.Dispose();
}
