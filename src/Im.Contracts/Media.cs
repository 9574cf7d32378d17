using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace Im.Contracts;

/// <summary>An uploaded image as <c>POST /api/media</c> answers it.</summary>
public sealed record MediaResponse(
    string MediaId,
    string GroupId,
    [property: AllowedValues(MediaTypes.Jpeg, MediaTypes.Png, MediaTypes.Webp, MediaTypes.Gif)] string ContentType,
    long Size,
    int Width,
    int Height,
    string Sha256,
    string CreatedAt)
{
    /// <summary>What a message of type IMAGE carries about its image.</summary>
    [JsonIgnore]
    public MediaInfo Info => new(MediaId, ContentType, Size, Width, Height, MediaInfo.UrlOf(MediaId));
}

/// <summary>The <c>media</c> object of an IMAGE message, in REST messages and frames alike.</summary>
public sealed record MediaInfo(
    string MediaId,
    [property: AllowedValues(MediaTypes.Jpeg, MediaTypes.Png, MediaTypes.Webp, MediaTypes.Gif)] string ContentType,
    long Size,
    int Width,
    int Height,
    string Url)
{
    public static string UrlOf(string mediaId) => "/api/media/" + Uri.EscapeDataString(mediaId);
}

/// <summary>The image types an upload may be, decided from its bytes.</summary>
public static class MediaTypes
{
    public const string Jpeg = "image/jpeg";
    public const string Png = "image/png";
    public const string Webp = "image/webp";
    public const string Gif = "image/gif";
}
