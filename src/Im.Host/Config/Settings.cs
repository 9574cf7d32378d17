using Im.Actors;
using Im.Actors.Media;

namespace Im.Host.Config;

/// <summary><c>Im__*</c>.</summary>
public sealed class ImOptions
{
    public string DataDir { get; init; } = "./data";
    public int AskTimeoutSeconds { get; init; } = 5;

    /// <summary>Frames a WebSocket client may have waiting before it is disconnected as too slow.</summary>
    public int SessionQueueCapacity { get; init; } = 1024;

    /// <summary>Sends a second per user, REST and WebSocket together; 0 turns the limit off.</summary>
    public int SendRatePerSecond { get; init; }

    /// <summary>Sends a user may make at once before the rate applies.</summary>
    public int SendBurst { get; init; } = 40;

    /// <summary>WebSockets one user may hold open on one node.</summary>
    public int MaxConnectionsPerUser { get; init; } = 10;

    /// <summary>Browser origins allowed for CORS and the WebSocket <c>Origin</c> check, comma-separated; unset allows any.</summary>
    public string? AllowedOrigins { get; init; }

    /// <summary>Largest image upload, in bytes.</summary>
    public long MediaMaxBytes { get; init; } = 5 * 1024 * 1024;

    /// <summary>Largest image, in pixels (width × height), read from its header before it is decoded.</summary>
    public long MediaMaxPixels { get; init; } = 40_000_000;

    /// <summary>Seconds a group or user actor may stay idle before it is stopped (its next message starts it again from the store).</summary>
    public int PassivateAfterSeconds { get; init; } = (int)ImActorsConfiguration.DefaultPassivateAfter.TotalSeconds;

    public TimeSpan AskTimeout => TimeSpan.FromSeconds(AskTimeoutSeconds);

    public TimeSpan PassivateAfter => PassivateAfterSeconds > 0
        ? TimeSpan.FromSeconds(PassivateAfterSeconds)
        : throw new InvalidOperationException($"Im__PassivateAfterSeconds must be at least 1, not {PassivateAfterSeconds}.");

    public MediaLimits MediaLimits => new(MediaMaxBytes, MediaMaxPixels);

    public IReadOnlyList<string> AllowedOriginList =>
        (AllowedOrigins ?? "").Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary><c>Redis__*</c>.</summary>
public sealed class RedisOptions
{
    public string KeyPrefix { get; init; } = "im:";
}

/// <summary><c>Auth__*</c>: who the caller is, from a header (development) or a JWT (production).</summary>
public sealed class AuthOptions
{
    public string Mode { get; init; } = nameof(AuthMode.Header);
    public string? JwtKey { get; init; }

    /// <summary>When set, a token's <c>iss</c> must be exactly this.</summary>
    public string? Issuer { get; init; }

    /// <summary>When set, a token's <c>aud</c> must contain this.</summary>
    public string? Audience { get; init; }

    public AuthMode AuthMode => Enum.TryParse<AuthMode>(Mode, ignoreCase: true, out var mode)
        ? mode
        : throw new InvalidOperationException($"Auth__Mode must be Header or Jwt, not '{Mode}'.");

    public bool UsesJwt => AuthMode == AuthMode.Jwt;
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

/// <summary><c>Ops__*</c>: who may read <c>/metrics</c> and <c>/api/ops/*</c> (see <see cref="OpsAuthorization"/>).</summary>
public sealed class OpsOptions
{
    /// <summary>A bearer token for those endpoints; unset, they answer loopback callers and admins' tokens only.</summary>
    public string? Token { get; init; }
}
