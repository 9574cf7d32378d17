using System.Buffers.Binary;
using System.Security.Cryptography;
using Im.Contracts;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.Metadata;
using SixLabors.ImageSharp.Processing;

namespace Im.Actors.Media;

/// <summary><c>Im__MediaMaxBytes</c>, <c>Im__MediaMaxPixels</c>.</summary>
public sealed record MediaLimits(long MaxBytes = 5 * 1024 * 1024, long MaxPixels = 40_000_000);

/// <param name="Bytes">The re-encoded image, with no metadata.</param>
/// <param name="Sha256">Of <paramref name="Bytes"/>, lowercase hex.</param>
public sealed record SanitizedImage(byte[] Bytes, string ContentType, int Width, int Height, string Sha256);

/// <summary>
/// Turns an upload into an image safe to keep. The type comes from the bytes, never from a header
/// or a file name. Every image is decoded and encoded again from its pixels alone, so nothing a
/// phone wrote into the file survives: EXIF (GPS position, device, time), XMP, IPTC, ICC profiles,
/// PNG text chunks, GIF comments. Before that it is turned upright (EXIF orientation), so a photo
/// does not come out sideways once its orientation tag is gone.
/// </summary>
/// <remarks>
/// Decoders of untrusted images are where image libraries have had their security flaws, so the
/// decoder gets as little room as possible: the size is bounded before anything is read, the pixel
/// count is read from the header (<c>Identify</c>) and bounded before anything is decoded (a
/// decompression bomb is a tiny file that claims a huge canvas), a GIF is decoded to its first frame
/// and an animated WebP is refused (frames multiply the pixels), a PNG's compressed text is dropped
/// unread (it inflates without bound: a bomb in the metadata), one allocation may not exceed what
/// the largest allowed image needs, decoding uses one thread, and whatever the decoder throws is a
/// 400, not a 500. ImageSharp 2.1 is the last Apache-2.0 line; keep it at its newest 2.1.x.
/// </remarks>
public sealed class ImageSanitizer
{
    private static readonly Dictionary<string, (string ContentType, IImageEncoder Encoder)> Formats = new(StringComparer.Ordinal)
    {
        [JpegFormat.Instance.Name] = (MediaTypes.Jpeg, new JpegEncoder { Quality = 90 }),
        [PngFormat.Instance.Name] = (MediaTypes.Png, new PngEncoder()),
        [WebpFormat.Instance.Name] = (MediaTypes.Webp, new WebpEncoder { Quality = 90 }),
        [GifFormat.Instance.Name] = (MediaTypes.Gif, new GifEncoder()),
    };

    private readonly MediaLimits _limits;
    private readonly Configuration _configuration;

    public ImageSanitizer(MediaLimits limits)
    {
        _limits = limits;
        _configuration = Configuration.Default.Clone();
        _configuration.MaxDegreeOfParallelism = 1;
        // RGBA at 4 bytes a pixel, with room for a decoder's working buffers.
        _configuration.MemoryAllocator = MemoryAllocator.Create(new MemoryAllocatorOptions
        {
            AllocationLimitMegabytes = (int)Math.Clamp(limits.MaxPixels * 8 / (1024 * 1024), 16, 1024),
        });
    }

    public MediaLimits Limits => _limits;

    /// <summary>The cheap checks, done before the caller's membership is: the size, and the type from the first bytes.</summary>
    public ApiError? Screen(byte[] upload)
    {
        if (upload.LongLength > _limits.MaxBytes)
            return new ApiError(ErrorCodes.PayloadTooLarge, $"an image may be at most {_limits.MaxBytes} bytes");
        return Image.DetectFormat(_configuration, upload) is { } format && Formats.ContainsKey(format.Name)
            ? null
            : new ApiError(ErrorCodes.UnsupportedMediaType, "the file is not a JPEG, PNG, WebP or GIF image");
    }

    public Outcome<SanitizedImage> Sanitize(byte[] upload)
    {
        if (Screen(upload) is { } refused) return refused;
        var format = Image.DetectFormat(_configuration, upload)!;
        var target = Formats[format.Name];
        // Before Identify: ImageSharp 2.1 throws on an animated WebP's header, which would make it "undecodable".
        if (format == WebpFormat.Instance && IsAnimatedWebp(upload))
            return ApiError.Invalid("file", "animated WebP images are not accepted; send a still image");
        if (format == PngFormat.Instance) upload = WithoutCompressedText(upload);
        try
        {
            var info = Image.Identify(_configuration, upload, out _);
            if (info is null) return Undecodable;
            if ((long)info.Width * info.Height > _limits.MaxPixels)
                return ApiError.Invalid("file", $"an image may have at most {_limits.MaxPixels} pixels");
            if (!IsWhole(format, upload)) return Undecodable;

            using var image = format == GifFormat.Instance
                ? Image.Load(_configuration, upload, new GifDecoder { DecodingMode = FrameDecodingMode.First })
                : Image.Load(_configuration, upload);
            image.Mutate(x => x.AutoOrient());
            StripMetadata(image);
            using var output = new MemoryStream();
            image.Save(output, target.Encoder);
            var bytes = output.ToArray();
            return new SanitizedImage(bytes, target.ContentType, image.Width, image.Height,
                Convert.ToHexStringLower(SHA256.HashData(bytes)));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A decoder that fails on crafted input is an undecodable upload whatever it throws.
            return Undecodable;
        }
    }

    private static readonly ApiError Undecodable = ApiError.Invalid("file", "the image could not be decoded");

    private static void StripMetadata(Image image)
    {
        Strip(image.Metadata);
        foreach (var frame in image.Frames)
        {
            frame.Metadata.ExifProfile = null;
            frame.Metadata.XmpProfile = null;
            frame.Metadata.IccProfile = null;
            frame.Metadata.IptcProfile = null;
        }
        image.Metadata.GetPngMetadata().TextData.Clear();
        image.Metadata.GetGifMetadata().Comments.Clear();
    }

    private static void Strip(ImageMetadata metadata)
    {
        metadata.ExifProfile = null;
        metadata.XmpProfile = null;
        metadata.IccProfile = null;
        metadata.IptcProfile = null;
    }

    /// <summary>
    /// Whether the file reaches its format's end: a JPEG's EOI after its last scan, a PNG's IEND chunk, a
    /// GIF's trailer, a WebP's whole RIFF. ImageSharp 2.1 decodes a file cut short without a word, grey or
    /// blank where the pixels are missing, and a clinical photo that silently lost part of itself must be
    /// refused so that the client sends it again. Each walk follows the format's structure, lengths and
    /// all, as the decoder does: an end marker inside a segment (a JPEG's embedded thumbnail has an EOI of
    /// its own) is not the end, and whatever follows the real end (data a phone appends) does not matter.
    /// </summary>
    private static bool IsWhole(IImageFormat format, ReadOnlySpan<byte> bytes) =>
        format == JpegFormat.Instance ? JpegReachesEoi(bytes)
        : format == PngFormat.Instance ? PngReachesIend(bytes)
        : format == GifFormat.Instance ? GifReachesTrailer(bytes)
        : format == WebpFormat.Instance && WebpHoldsItsRiff(bytes);

    private static bool JpegReachesEoi(ReadOnlySpan<byte> jpeg)
    {
        var at = 2; // past SOI
        while (true)
        {
            // A marker is FF and a code; more FFs before it are fill, and the decoder skips stray bytes too.
            while (at < jpeg.Length && jpeg[at] != 0xFF) at++;
            while (at < jpeg.Length && jpeg[at] == 0xFF) at++;
            if (at >= jpeg.Length) return false;
            var marker = jpeg[at++];
            if (marker == 0xD9) return true; // EOI
            if (marker is 0x01 or (>= 0xD0 and <= 0xD8)) continue; // TEM, RSTn, SOI: no length
            if (jpeg.Length - at < 2) return false;
            var length = BinaryPrimitives.ReadUInt16BigEndian(jpeg[at..]);
            if (length < 2 || length > jpeg.Length - at) return false;
            at += length;
            if (marker != 0xDA) continue;
            // After SOS, the entropy-coded data runs to the next marker that is not RSTn; FF 00 is a stuffed FF.
            while (true)
            {
                var ff = jpeg[at..].IndexOf((byte)0xFF);
                if (ff < 0 || at + ff + 1 >= jpeg.Length) return false;
                at += ff;
                var next = jpeg[at + 1];
                if (next is 0x00 or (>= 0xD0 and <= 0xD7)) at += 2;
                else break;
            }
        }
    }

    private static bool PngReachesIend(ReadOnlySpan<byte> png)
    {
        const int Framing = 12;
        var at = 8; // past the signature
        while (png.Length - at >= Framing)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(png[at..]);
            if (length > png.Length - at - Framing) return false;
            if (png.Slice(at + 4, 4).SequenceEqual("IEND"u8)) return true;
            at += Framing + (int)length;
        }
        return false;
    }

    private static bool GifReachesTrailer(ReadOnlySpan<byte> gif)
    {
        const int Header = 13; // signature, version and the logical screen descriptor
        if (gif.Length < Header) return false;
        var at = Header + ColourTable(gif[10]);
        while (at < gif.Length)
        {
            switch (gif[at])
            {
                case 0x3B: // trailer
                    return true;
                case 0x21: // extension: introducer, label, then data sub-blocks
                    at += 2;
                    break;
                case 0x2C: // image: descriptor, its colour table, the LZW code size, then data sub-blocks
                    if (gif.Length - at < 10) return false;
                    at += 10 + ColourTable(gif[at + 9]) + 1;
                    break;
                default: // the decoder skips a byte that starts no block
                    at++;
                    continue;
            }
            // Sub-blocks: a length byte and that many bytes each, up to a zero length.
            while (true)
            {
                if (at >= gif.Length) return false;
                var size = gif[at];
                at += 1 + size;
                if (size == 0) break;
            }
        }
        return false;

        static int ColourTable(byte flags) => (flags & 0x80) == 0 ? 0 : 3 << ((flags & 0x07) + 1);
    }

    // "RIFF", the size of what follows it, "WEBP" and the chunks: the file holds all that size says.
    private static bool WebpHoldsItsRiff(ReadOnlySpan<byte> webp) =>
        webp.Length >= 12 && BinaryPrimitives.ReadUInt32LittleEndian(webp[4..]) <= webp.Length - 8L;

    /// <summary>
    /// The PNG without its zTXt and iTXt chunks. The decoder inflates their text whole, with no bound,
    /// in Identify and again in Load: a 260 KB upload of zeros is 256 MB of text, seconds of CPU while
    /// every other upload waits, and a 5 MiB one is gigabytes. The text would be thrown away anyway, and
    /// nothing else (pixels, eXIf orientation) is in those chunks. Anything past a chunk that does not
    /// fit is kept as it is, for the decoder to refuse.
    /// </summary>
    private static byte[] WithoutCompressedText(byte[] png)
    {
        const int Signature = 8;
        const int Framing = 12; // length, type and CRC around a chunk's data
        using var kept = new MemoryStream(png.Length);
        kept.Write(png, 0, Signature);
        var at = Signature;
        while (png.Length - at >= Framing)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at));
            if (length > png.Length - at - Framing) break;
            var type = png.AsSpan(at + 4, 4);
            if (!type.SequenceEqual("zTXt"u8) && !type.SequenceEqual("iTXt"u8)) kept.Write(png, at, Framing + (int)length);
            at += Framing + (int)length;
        }
        kept.Write(png, at, png.Length - at);
        return kept.ToArray();
    }

    // RIFF....WEBPVP8X, then the extended header's flags; bit 1 says the file holds an animation.
    private static bool IsAnimatedWebp(byte[] bytes) =>
        bytes.Length > 20 && bytes.AsSpan(12, 4).SequenceEqual("VP8X"u8) && (bytes[20] & 0x02) != 0;
}
