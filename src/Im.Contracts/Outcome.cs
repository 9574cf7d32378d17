namespace Im.Contracts;

/// <summary>
/// The one result type: a value, or the spec's error that stopped it. Request validation returns
/// it, every actor command and query replies with it, and Im.Host maps it to HTTP in one place
/// (<c>ApiResults</c>) and to WebSocket frames in another (the SessionActor).
/// </summary>
public sealed record Outcome<T>(T? Value, ApiError? Error) where T : class
{
    public static Outcome<T> Ok(T value) => new(value, null);
    public static Outcome<T> Fail(ApiError error) => new(null, error);
    public static Outcome<T> Fail(string code, string message) => new(null, new ApiError(code, message));

    /// <summary>The next step on the value, or this error unchanged.</summary>
    public Outcome<TNext> Then<TNext>(Func<T, Outcome<TNext>> next) where TNext : class =>
        Error is { } error ? Outcome<TNext>.Fail(error) : next(Value!);

    public static implicit operator Outcome<T>(T value) => Ok(value);
    public static implicit operator Outcome<T>(ApiError error) => Fail(error);
}
