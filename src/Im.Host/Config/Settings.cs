namespace Im.Host.Config;

/// <summary><c>Im__*</c>.</summary>
public sealed class ImOptions
{
    public string DataDir { get; init; } = "./data";
    public int AskTimeoutSeconds { get; init; } = 5;

    /// <summary>Frames a WebSocket client may have waiting before it is disconnected as too slow.</summary>
    public int SessionQueueCapacity { get; init; } = 1024;

    public TimeSpan AskTimeout => TimeSpan.FromSeconds(AskTimeoutSeconds);
}

/// <summary><c>Redis__*</c>.</summary>
public sealed class RedisOptions
{
    public string KeyPrefix { get; init; } = "im:";
}

/// <summary><c>Auth__*</c>: who the caller is, from a header or a JWT.</summary>
public sealed class AuthOptions
{
    public const string HeaderMode = "Header";
    public const string JwtMode = "Jwt";

    public string Mode { get; init; } = HeaderMode;
    public string? JwtKey { get; init; }

    public bool UsesJwt => string.Equals(Mode, JwtMode, StringComparison.OrdinalIgnoreCase);
}

/// <summary><c>Akka__*</c>: remoting address and seed nodes.</summary>
public sealed class AkkaNodeOptions
{
    public string Hostname { get; init; } = "127.0.0.1";
    public string? PublicHostname { get; init; }
    public int Port { get; init; }
    public string[] SeedNodes { get; init; } = [];

    /// <summary>
    /// Serialize every actor message even on one node; single-node tests turn it on to catch
    /// cluster-only bugs. Not for multi-node clusters: Akka's own local cluster events do not
    /// survive it (members' up-numbers are lost and nodes disagree on the oldest member).
    /// </summary>
    public bool SerializeMessages { get; init; }
}
