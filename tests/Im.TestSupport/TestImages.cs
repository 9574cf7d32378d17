using System.IO.Compression;
using System.IO.Hashing;
using System.Buffers.Binary;
using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;

namespace Im.TestSupport;

/// <summary>
/// Images as a phone writes them, with what must never be stored: EXIF with a GPS position and the
/// device (<see cref="Secret"/> is in the camera model and, for PNG, a text chunk), and broken or
/// hostile files. Built here, so no test depends on binary files in the repository.
/// </summary>
public static class TestImages
{
    /// <summary>A string the metadata carries; a stored image must not contain it.</summary>
    public const string Secret = "PhoneModel-X9-GPS";

    public const int Width = 64;
    public const int Height = 48;

    public static byte[] Jpeg(int width = Width, int height = Height) => Encode(new JpegEncoder { Quality = 90 }, width, height);
    public static byte[] Png(int width = Width, int height = Height) => Encode(new PngEncoder(), width, height);
    public static byte[] Webp(int width = Width, int height = Height) => Encode(new WebpEncoder(), width, height);
    public static byte[] Gif(int width = Width, int height = Height) => Encode(new GifEncoder(), width, height);

    /// <summary>Every accepted format: the MIME type the service will say, and an image carrying metadata.</summary>
    public static IReadOnlyList<(string ContentType, byte[] Bytes)> All() =>
        [("image/jpeg", Jpeg()), ("image/png", Png()), ("image/webp", Webp()), ("image/gif", Gif())];

    /// <summary>A JPEG cut off after its first few hundred bytes.</summary>
    public static byte[] TruncatedJpeg() => Jpeg(640, 480)[..300];

    /// <summary>The side of the images the truncation specs cut: large enough for pixel data of some length.</summary>
    public const int CutWidth = 640;
    public const int CutHeight = 480;

    /// <summary>
    /// Whole files and the same files cut short, as a dropped upload leaves them: each cut ends where a
    /// lenient decoder still makes a picture of it, filling in what is missing.
    /// </summary>
    public static IReadOnlyList<(string What, byte[] Whole, byte[] Cut)> Cuts()
    {
        var jpeg = Jpeg(CutWidth, CutHeight);
        var png = Png(CutWidth, CutHeight);
        var gif = Gif(CutWidth, CutHeight);
        var webp = Webp(CutWidth, CutHeight);
        var thumbnailed = WithThumbnail(jpeg);
        return
        [
            ("jpeg cut in its scan data", jpeg, jpeg[..MidScan(jpeg)]),
            // The thumbnail (a whole JPEG in an APP segment) holds an EOI: only a marker-by-marker walk knows it is not the image's.
            ("jpeg with a thumbnail, cut in its scan data", thumbnailed, thumbnailed[..MidScan(thumbnailed)]),
            ("jpeg without its EOI marker", jpeg, jpeg[..^2]),
            ("png cut in its pixel data", png, png[..(png.Length / 2)]),
            ("png cut before its IEND chunk", png, png[..^12]),
            ("gif cut in its pixel data", gif, gif[..(gif.Length / 2)]),
            ("gif without its trailer", gif, gif[..^1]),
            ("webp cut in its pixel data", webp, webp[..(webp.Length / 2)]),
            ("webp one byte short", webp, webp[..^1]),
        ];
    }

    /// <summary>The offset halfway through the entropy-coded data after the JPEG's last SOS segment.</summary>
    private static int MidScan(byte[] jpeg)
    {
        // Entropy-coded data never holds FF DA (an FF there is followed by 00 or a restart marker), so the last one is the last SOS.
        var sos = jpeg.AsSpan().LastIndexOf([(byte)0xFF, (byte)0xDA]);
        var data = sos + 2 + BinaryPrimitives.ReadUInt16BigEndian(jpeg.AsSpan(sos + 2));
        return (data + jpeg.Length - 2) / 2;
    }

    /// <summary>The JPEG with a whole small JPEG in an APP15 segment after its SOI, as cameras embed a thumbnail.</summary>
    public static byte[] WithThumbnail(byte[] jpeg)
    {
        var thumbnail = Jpeg(16, 16);
        var length = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(length, (ushort)(thumbnail.Length + 2));
        return [.. jpeg[..2], 0xFF, 0xEF, .. length, .. thumbnail, .. jpeg[2..]];
    }

    /// <summary>
    /// A decompression bomb: a valid PNG header claiming <paramref name="side"/>² pixels (400 million by
    /// default, 1.6 GB decoded) over a few hundred bytes of data.
    /// </summary>
    public static byte[] PngBomb(int side = 20_000)
    {
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, side);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), side);
        header[8] = 8; // bit depth; colour type 0 (grey), no interlace
        Chunk(png, "IHDR", header);
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
            zlib.Write(new byte[side + 1]); // one filtered scanline of zeros; the rest is missing
        Chunk(png, "IDAT", compressed.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    public static byte[] Svg() => Encoding.UTF8.GetBytes("""<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>""");

    public static byte[] Text() => Encoding.UTF8.GetBytes("this is a letter, not a photo");

    /// <summary>What the service must say the bytes are, and their size, read back with ImageSharp.</summary>
    public static (string? MimeType, int Width, int Height, bool HasExif) Inspect(byte[] bytes)
    {
        var info = Image.Identify(bytes, out var format);
        return (format?.DefaultMimeType, info?.Width ?? 0, info?.Height ?? 0, info?.Metadata.ExifProfile is { Values.Count: > 0 });
    }

    /// <summary>Whether the bytes still hold the metadata's secret anywhere (EXIF, XMP, text chunks, comments).</summary>
    public static bool HoldsSecret(byte[] bytes) =>
        Encoding.Latin1.GetString(bytes).Contains(Secret, StringComparison.Ordinal)
        || Encoding.Unicode.GetString(bytes).Contains(Secret, StringComparison.Ordinal);

    private static byte[] Encode(IImageEncoder encoder, int width, int height)
    {
        using var image = new Image<Rgba32>(width, height);
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
            image[x, y] = new Rgba32((byte)(x * 4), (byte)(y * 5), 128);
        var exif = new ExifProfile();
        exif.SetValue(ExifTag.Model, Secret);
        exif.SetValue(ExifTag.GPSLatitudeRef, "N");
        exif.SetValue(ExifTag.GPSLatitude, [new Rational(31, 1), new Rational(14, 1), new Rational(0, 1)]);
        exif.SetValue(ExifTag.GPSLongitudeRef, "E");
        exif.SetValue(ExifTag.GPSLongitude, [new Rational(121, 1), new Rational(28, 1), new Rational(0, 1)]);
        image.Metadata.ExifProfile = exif;
        image.Metadata.GetPngMetadata().TextData.Add(new PngTextData("Comment", Secret, "", ""));
        image.Metadata.GetGifMetadata().Comments.Add(Secret);
        using var output = new MemoryStream();
        image.Save(output, encoder);
        return output.ToArray();
    }

    private static void Chunk(Stream png, string type, byte[] data)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        png.Write(length);
        var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        png.Write(typed);
        Span<byte> crc = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32.HashToUInt32(typed));
        png.Write(crc);
    }
}
