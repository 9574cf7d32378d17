using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Im.TestSupport;

/// <summary>HS256 tokens made by hand, so tests control every field (and can make bad ones).</summary>
public static class Jwt
{
    public const string AdminScope = "im:admin";

    public static string Mint(string key, string subject, bool admin = false, DateTimeOffset? expires = null,
        string? issuer = null, string? audience = null, string algorithm = "HS256")
    {
        var claims = new Dictionary<string, object> { ["sub"] = subject };
        claims["exp"] = (expires ?? DateTimeOffset.UtcNow.AddHours(1)).ToUnixTimeSeconds();
        if (admin) claims["scope"] = "openid " + AdminScope;
        if (issuer is not null) claims["iss"] = issuer;
        if (audience is not null) claims["aud"] = audience;
        var unsigned = $"{Encode(JsonSerializer.SerializeToUtf8Bytes(new { alg = algorithm, typ = "JWT" }))}.{Encode(JsonSerializer.SerializeToUtf8Bytes(claims))}";
        var signature = algorithm == "none" ? "" : Encode(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.ASCII.GetBytes(unsigned)));
        return $"{unsigned}.{signature}";
    }

    /// <summary><c>alg: none</c> and no signature: the oldest JWT trick in the book.</summary>
    public static string Unsigned(string subject) => Mint("", subject, algorithm: "none");

    private static string Encode(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
