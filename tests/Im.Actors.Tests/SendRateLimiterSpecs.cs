using System.Diagnostics;
using Im.TestSupport;

namespace Im.Actors.Tests;

/// <summary>The per-user send limit shared by REST and WebSocket sends.</summary>
public sealed class SendRateLimiterSpecs
{
    private static readonly TimeSpan RefillWait = TimeSpan.FromSeconds(5);

    [Fact]
    public void Should_never_limit_when_the_rate_is_zero()
    {
        using var limiter = new SendRateLimiter(0, 1);

        Assert.All(Enumerable.Range(0, 1000), _ => Assert.Null(limiter.TryAcquire("alice")));
        Assert.All(Enumerable.Range(0, 1000), _ => Assert.Null(SendRateLimiter.Unlimited.TryAcquire("alice")));
    }

    [Fact]
    public void Should_allow_a_burst_then_refuse_with_a_positive_retry_after()
    {
        using var limiter = new SendRateLimiter(1, 3);

        Assert.Null(limiter.TryAcquire("alice"));
        Assert.Null(limiter.TryAcquire("alice"));
        Assert.Null(limiter.TryAcquire("alice"));
        var retryAfter = limiter.TryAcquire("alice");

        Assert.NotNull(retryAfter);
        Assert.True(retryAfter > TimeSpan.Zero, $"retry-after {retryAfter} is not positive");
        Assert.True(retryAfter <= TimeSpan.FromSeconds(1), $"retry-after {retryAfter} is longer than one refill at 1/s");
    }

    [Fact]
    public void Should_hold_at_least_one_send_when_the_burst_is_zero()
    {
        using var limiter = new SendRateLimiter(1, 0);

        Assert.Null(limiter.TryAcquire("alice"));
        Assert.NotNull(limiter.TryAcquire("alice"));
    }

    [Fact]
    public void Should_keep_the_buckets_of_different_users_apart()
    {
        using var limiter = new SendRateLimiter(1, 2);
        Assert.Null(limiter.TryAcquire("alice"));
        Assert.Null(limiter.TryAcquire("alice"));
        Assert.NotNull(limiter.TryAcquire("alice"));

        Assert.Null(limiter.TryAcquire("bob"));
        Assert.Null(limiter.TryAcquire("bob"));
        Assert.NotNull(limiter.TryAcquire("bob"));
        // User ids are compared ordinally: a differently cased id is another user.
        Assert.Null(limiter.TryAcquire("ALICE"));
    }

    [Fact]
    public async Task Should_refill_an_empty_bucket_over_time()
    {
        using var limiter = new SendRateLimiter(5, 1);
        Assert.Null(limiter.TryAcquire("alice"));
        Assert.NotNull(limiter.TryAcquire("alice"));

        // At 5/s a token is back within about 200 ms; a limiter that never refills fails here.
        await Eventually.True(() => limiter.TryAcquire("alice") is null, RefillWait, "alice's bucket to refill");

        // The refilled token is spent: the bucket is empty again, it did not turn unlimited.
        Assert.NotNull(limiter.TryAcquire("alice"));
        await Eventually.True(() => limiter.TryAcquire("alice") is null, RefillWait, "alice's bucket to refill a second time");
    }

    [Fact]
    public async Task Should_refill_one_user_without_touching_another()
    {
        using var limiter = new SendRateLimiter(5, 1);
        Assert.Null(limiter.TryAcquire("alice"));
        Assert.NotNull(limiter.TryAcquire("alice"));

        await Eventually.True(() => limiter.TryAcquire("alice") is null, RefillWait, "alice's bucket to refill");

        Assert.Null(limiter.TryAcquire("bob"));
        Assert.NotNull(limiter.TryAcquire("bob"));
    }

    [Fact]
    public async Task Should_refill_no_faster_than_the_rate()
    {
        using var limiter = new SendRateLimiter(2, 10);
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < 10; i++) Assert.Null(limiter.TryAcquire("alice"));

        // An upper bound needs a window to count in; a slow machine only grants fewer, so this cannot flake.
        var granted = 0;
        while (Stopwatch.GetElapsedTime(start) < TimeSpan.FromSeconds(1))
        {
            if (limiter.TryAcquire("alice") is null) granted++;
            await Task.Delay(10);
        }
        var elapsed = Stopwatch.GetElapsedTime(start);

        // Tokens come a period (one second) at a time, so one period on top of the time elapsed.
        var most = 2 * (elapsed.TotalSeconds + 1);
        Assert.True(granted <= most, $"{granted} sends granted in {elapsed.TotalMilliseconds:F0} ms at 2/s, at most {most:F1} expected");
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 1)]
    [InlineData(999, 1)]
    [InlineData(1000, 1)]
    [InlineData(1001, 2)]
    [InlineData(2500, 3)]
    [InlineData(60_000, 60)]
    public void Should_round_a_wait_up_to_whole_seconds_of_at_least_one(int milliseconds, int seconds) =>
        Assert.Equal(seconds, SendRateLimiter.Seconds(TimeSpan.FromMilliseconds(milliseconds)));
}
