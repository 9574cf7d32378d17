using StackExchange.Redis;

namespace Im.Host.Storage;

/// <summary>
/// A store that answers, but not as ImAkka needs: as opposed to one that cannot be reached (which the
/// host waits for), waiting would not help, so the host says what it answered and exits.
/// </summary>
public static class StoreRefusal
{
    /// <summary>The process's exit code when the store refuses at start.</summary>
    public const int ExitCode = 3;

    /// <summary>What the store answered, when <paramref name="failure"/> is a refusal; null for a store that is only unreachable.</summary>
    public static string? Answer(Exception failure) => failure switch
    {
        // The client itself declines what the store cannot run, e.g. a script over keys of several slots of a cluster.
        RedisCommandException refused => FirstSentence(refused.Message),
        // The store answered with an error: an unknown command, NOAUTH, a script it will not run.
        RedisServerException answered => FirstSentence(answered.Message),
        RedisConnectionException { FailureType: ConnectionFailureType.AuthenticationFailure } =>
            "it refused the connection's credentials (AuthenticationFailure).",
        { InnerException: { } inner } => Answer(inner),
        _ => null,
    };

    // The client's messages go on for lines of diagnostics; the first sentence is the answer.
    private static string FirstSentence(string message)
    {
        var end = message.IndexOfAny(['.', ';', '\n']);
        return end < 0 ? message + "." : message[..end] + ".";
    }

    /// <summary>What an operator can do about it, where the answer says.</summary>
    public static string Hint(string answer) =>
        answer.Contains("unknown command", StringComparison.OrdinalIgnoreCase)
            ? "ImAkka needs Lua scripts (EVAL, EVALSHA) and pub/sub: a Redis 7, a Redis Cluster or Garnet with scripting on."
            : "Check ConnectionStrings__Redis: the address, the password, and that it is a Redis 7 (one server or a Cluster) or Garnet.";
}
