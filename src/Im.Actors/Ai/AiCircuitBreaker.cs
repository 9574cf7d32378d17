namespace Im.Actors.Ai;

/// <summary>
/// In front of the AI service, one per node. Closed: calls go through, and <c>Ai__BreakerFailures</c>
/// failures in a row open it. Open: calls fail at once (<c>4001: circuit open</c>) without reaching the
/// service, for <c>Ai__BreakerResetSeconds</c>. Then half-open: exactly one call at a time is let
/// through as a probe; its success closes the circuit, its failure opens it again. A call stopped by
/// a user says nothing about the service and only frees the probe.
/// </summary>
public sealed class AiCircuitBreaker(int maxFailures, TimeSpan resetAfter, TimeProvider clock)
{
    public enum State
    {
        Closed = 0,
        HalfOpen = 1,
        Open = 2,
    }

    private readonly object _gate = new();
    private State _state = State.Closed;
    private int _failures;
    private DateTimeOffset _openedAt;
    private bool _probing;

    /// <summary>Every change of state, for the log and the metrics; called outside the breaker's lock.</summary>
    public event Action<State>? Changed;

    public State Current
    {
        get
        {
            State? changed;
            State current;
            lock (_gate)
            {
                changed = HalfOpenIfDue();
                current = _state;
            }
            Announce(changed);
            return current;
        }
    }

    /// <summary>Whether a call may go to the service now.</summary>
    public bool TryEnter()
    {
        State? changed;
        bool allowed;
        lock (_gate)
        {
            changed = HalfOpenIfDue();
            allowed = _state switch
            {
                State.Closed => true,
                State.HalfOpen when !_probing => _probing = true,
                _ => false,
            };
        }
        Announce(changed);
        return allowed;
    }

    public void Succeeded() => Change(() =>
    {
        _failures = 0;
        _probing = false;
        return _state == State.Closed ? null : To(State.Closed);
    });

    public void Failed() => Change(() =>
    {
        _probing = false;
        if (_state == State.HalfOpen || (_state == State.Closed && ++_failures >= maxFailures))
        {
            _openedAt = clock.GetUtcNow();
            return To(State.Open);
        }
        return null;
    });

    /// <summary>A call that ended without telling anything about the service (a user stopped it).</summary>
    public void Abandoned() => Change(() =>
    {
        _probing = false;
        return null;
    });

    private void Change(Func<State?> change)
    {
        State? changed;
        lock (_gate)
        {
            changed = change();
        }
        Announce(changed);
    }

    private State? HalfOpenIfDue() =>
        _state == State.Open && clock.GetUtcNow() - _openedAt >= resetAfter ? To(State.HalfOpen) : null;

    private State To(State state)
    {
        _state = state;
        if (state == State.Closed) _failures = 0;
        return state;
    }

    private void Announce(State? changed)
    {
        if (changed is { } state) Changed?.Invoke(state);
    }
}
