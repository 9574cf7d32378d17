using Im.Actors.Ai;
using Im.Actors.Tests.Support;
using static Im.Actors.Ai.AiCircuitBreaker;

namespace Im.Actors.Tests;

/// <summary>The breaker's rules on a clock the spec moves: closed → open → half-open → closed or open again.</summary>
public sealed class AiCircuitBreakerSpecs
{
    private static readonly TimeSpan Reset = TimeSpan.FromSeconds(30);

    private readonly ManualClock _clock = new(new DateTimeOffset(2025, 1, 27, 12, 0, 0, TimeSpan.Zero));
    private readonly List<State> _changes = [];
    private readonly AiCircuitBreaker _breaker;

    public AiCircuitBreakerSpecs()
    {
        _breaker = new AiCircuitBreaker(maxFailures: 3, Reset, _clock);
        _breaker.Changed += _changes.Add;
    }

    private void Fail(int times)
    {
        for (var i = 0; i < times; i++)
        {
            Assert.True(_breaker.TryEnter());
            _breaker.Failed();
        }
    }

    [Fact]
    public void Should_let_calls_through_while_closed_and_open_after_that_many_failures_in_a_row()
    {
        Fail(2);
        Assert.True(_breaker.TryEnter());
        _breaker.Succeeded();
        Fail(2);
        Assert.Equal(State.Closed, _breaker.Current);

        Fail(1);

        Assert.Equal(State.Open, _breaker.Current);
        Assert.False(_breaker.TryEnter());
        Assert.Equal([State.Open], _changes);
    }

    [Fact]
    public void Should_stay_open_until_the_reset_time_then_let_exactly_one_probe_through()
    {
        Fail(3);
        _clock.Advance(Reset - TimeSpan.FromSeconds(1));
        Assert.False(_breaker.TryEnter());

        _clock.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(State.HalfOpen, _breaker.Current);
        Assert.True(_breaker.TryEnter());
        Assert.False(_breaker.TryEnter());
        Assert.False(_breaker.TryEnter());
        Assert.Equal([State.Open, State.HalfOpen], _changes);
    }

    [Fact]
    public void Should_close_when_the_probe_succeeds()
    {
        Fail(3);
        _clock.Advance(Reset);
        Assert.True(_breaker.TryEnter());

        _breaker.Succeeded();

        Assert.Equal(State.Closed, _breaker.Current);
        Assert.True(_breaker.TryEnter());
        Assert.True(_breaker.TryEnter());
        // Closing starts the count afresh: two failures do not open it again.
        _breaker.Failed();
        _breaker.Failed();
        Assert.Equal(State.Closed, _breaker.Current);
        Assert.Equal([State.Open, State.HalfOpen, State.Closed], _changes);
    }

    [Fact]
    public void Should_open_again_for_a_whole_reset_time_when_the_probe_fails()
    {
        Fail(3);
        _clock.Advance(Reset);
        Assert.True(_breaker.TryEnter());

        _breaker.Failed();

        Assert.Equal(State.Open, _breaker.Current);
        _clock.Advance(Reset - TimeSpan.FromSeconds(1));
        Assert.False(_breaker.TryEnter());
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(_breaker.TryEnter());
        Assert.Equal([State.Open, State.HalfOpen, State.Open, State.HalfOpen], _changes);
    }

    [Fact]
    public void Should_free_the_probe_when_its_call_is_stopped_without_judging_the_service()
    {
        Fail(3);
        _clock.Advance(Reset);
        Assert.True(_breaker.TryEnter());

        _breaker.Abandoned();

        Assert.Equal(State.HalfOpen, _breaker.Current);
        Assert.True(_breaker.TryEnter());
    }

    [Fact]
    public void Should_let_exactly_one_of_many_concurrent_callers_probe()
    {
        Fail(3);
        _clock.Advance(Reset);

        var entered = 0;
        Parallel.For(0, 64, _ =>
        {
            if (_breaker.TryEnter()) Interlocked.Increment(ref entered);
        });

        Assert.Equal(1, entered);
    }
}
