using System.Globalization;
using System.Security.Cryptography;

namespace Im.Actors.Storage;

/// <summary>Public ids and times in the formats of DESIGN.md.</summary>
public static class Ids
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    public static string NewUserId(DateTimeOffset now) => New("user", now);
    public static string NewGroupId(DateTimeOffset now) => New("group", now);
    public static string NewMessageId(DateTimeOffset now) => New("msg", now);
    public static string NewRecordId(DateTimeOffset now) => New("record", now);
    public static string NewMediaId(DateTimeOffset now) => New("media", now);

    /// <summary>UTC, second precision, no zone suffix: exactly the spec's <c>2025-01-27T12:00:00</c>.</summary>
    public static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);

    private static string New(string kind, DateTimeOffset now) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{kind}_{now.UtcDateTime:yyyyMMddHHmmss}_{RandomNumberGenerator.GetString(Alphabet, 8)}");
}
