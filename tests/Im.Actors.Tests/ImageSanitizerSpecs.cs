using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Im.Actors.Media;
using Im.Contracts;
using Im.TestSupport;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;

namespace Im.Actors.Tests;

/// <summary>
/// What the sanitizer makes of an upload, from the bytes alone: the same kind of image, upright,
/// with nothing a phone wrote into it; everything else refused with the code the API answers.
/// </summary>
public sealed class ImageSanitizerSpecs
{
    private const long FiveMiB = 5 * 1024 * 1024;

    private static readonly ImageSanitizer Sanitizer = new(new MediaLimits());

    private static SanitizedImage Clean(byte[] upload, ImageSanitizer? sanitizer = null)
    {
        var outcome = (sanitizer ?? Sanitizer).Sanitize(upload);
        Assert.Null(outcome.Error);
        return Assert.IsType<SanitizedImage>(outcome.Value);
    }

    private static ApiError Refused(string code, Outcome<SanitizedImage> outcome)
    {
        Assert.Null(outcome.Value);
        var error = Assert.IsType<ApiError>(outcome.Error);
        Assert.Equal(code, error.Code);
        return error;
    }

    /// <summary>An INVALID_PARAMETER about the file whose message says <paramref name="why"/>.</summary>
    private static void RefusedAsInvalid(Outcome<SanitizedImage> outcome, string why)
    {
        var error = Refused(ErrorCodes.InvalidParameter, outcome);
        Assert.Equal("file", error.Details?["field"]);
        Assert.Contains(why, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(MediaTypes.Jpeg)]
    [InlineData(MediaTypes.Png)]
    [InlineData(MediaTypes.Webp)]
    [InlineData(MediaTypes.Gif)]
    public void Should_give_each_format_back_as_itself_at_its_size_without_its_metadata(string contentType)
    {
        var upload = TestImages.All().Single(image => image.ContentType == contentType).Bytes;

        var clean = Clean(upload);

        Assert.Equal((contentType, TestImages.Width, TestImages.Height), (clean.ContentType, clean.Width, clean.Height));
        Assert.Equal((contentType, TestImages.Width, TestImages.Height, false), TestImages.Inspect(clean.Bytes));
        Assert.False(TestImages.HoldsSecret(clean.Bytes), $"the cleaned {contentType} still holds the metadata's secret");
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(clean.Bytes)), clean.Sha256);
    }

    [Fact]
    public void Should_take_the_type_from_the_bytes_and_drop_whatever_follows_the_image()
    {
        // A PNG with a whole JPEG after its end: still a PNG, and the JPEG (with its EXIF) does not ride along.
        var polyglot = TestImages.Png().Concat(TestImages.Jpeg()).ToArray();

        var clean = Clean(polyglot);

        Assert.Equal(MediaTypes.Png, clean.ContentType);
        Assert.Equal((MediaTypes.Png, TestImages.Width, TestImages.Height, false), TestImages.Inspect(clean.Bytes));
        Assert.False(TestImages.HoldsSecret(clean.Bytes));
        Assert.DoesNotContain("JFIF", Encoding.Latin1.GetString(clean.Bytes), StringComparison.Ordinal);
    }

    public static TheoryData<string, byte[]> NotAcceptedTypes => new()
    {
        { "text", TestImages.Text() },
        { "svg", TestImages.Svg() },
        { "empty", [] },
        // ImageSharp would decode a BMP, but it is not one of the four accepted types.
        { "bmp", EncodeBmp() },
        { "jpeg magic only", [0xFF, 0xD8] },
    };

    [Theory]
    [MemberData(nameof(NotAcceptedTypes))]
    public void Should_answer_415_for_what_is_not_a_jpeg_png_webp_or_gif(string what, byte[] upload)
    {
        var screened = Sanitizer.Screen(upload);
        Assert.True(screened?.Code == ErrorCodes.UnsupportedMediaType, $"{what}: screened as {screened?.Code ?? "acceptable"}");
        Refused(ErrorCodes.UnsupportedMediaType, Sanitizer.Sanitize(upload));
    }

    [Fact]
    public void Should_refuse_a_truncated_jpeg_as_undecodable() =>
        RefusedAsInvalid(Sanitizer.Sanitize(TestImages.TruncatedJpeg()), "could not be decoded");

    public static TheoryData<string> Cuts => new(TestImages.Cuts().Select(cut => cut.What));

    /// <summary>
    /// ImageSharp makes a picture of a file that lost its end, grey or blank where the pixels are
    /// missing; a clinical photo that silently lost part of itself must come back to the client as a refusal.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cuts))]
    public void Should_refuse_an_image_cut_short_as_undecodable(string what)
    {
        var (_, _, cut) = TestImages.Cuts().Single(c => c.What == what);

        RefusedAsInvalid(Sanitizer.Sanitize(cut), "could not be decoded");
    }

    [Theory]
    [MemberData(nameof(Cuts))]
    public void Should_accept_the_whole_file_of_each_cut(string what)
    {
        var (_, whole, _) = TestImages.Cuts().Single(c => c.What == what);

        var clean = Clean(whole);

        Assert.Equal((TestImages.CutWidth, TestImages.CutHeight), (clean.Width, clean.Height));
    }

    [Theory]
    [InlineData(MediaTypes.Jpeg)]
    [InlineData(MediaTypes.Png)]
    [InlineData(MediaTypes.Webp)]
    [InlineData(MediaTypes.Gif)]
    public void Should_accept_a_whole_image_followed_by_other_bytes(string contentType)
    {
        // Files often carry data after their end (a phone's appended depth map or video); only a cut end is refused.
        var whole = TestImages.All().Single(image => image.ContentType == contentType).Bytes;
        var appended = whole.Concat(TestImages.Text()).Concat(new byte[] { 0xFF, 0xD8, 0xFF, 0xDA, 0x00 }).ToArray();

        Assert.Equal(contentType, Clean(appended).ContentType);
    }

    [Fact]
    public void Should_refuse_more_than_5_MiB_by_its_size_alone()
    {
        // A real JPEG padded past the limit: the size is refused whatever the bytes are.
        var jpeg = TestImages.Jpeg();
        var oversized = new byte[FiveMiB + 1];
        jpeg.CopyTo(oversized, 0);
        var atTheLimit = oversized[..(int)FiveMiB];

        Assert.Equal(ErrorCodes.PayloadTooLarge, Sanitizer.Screen(oversized)?.Code);
        Refused(ErrorCodes.PayloadTooLarge, Sanitizer.Sanitize(oversized));
        Assert.Equal(ErrorCodes.PayloadTooLarge, Sanitizer.Screen(new byte[FiveMiB + 1])?.Code);
        Assert.Null(Sanitizer.Screen(atTheLimit));
    }

    [Fact]
    public void Should_refuse_a_png_bomb_from_its_header()
    {
        // 400 million pixels would take 1.6 GB decoded, past the allocation cap: a decode that was
        // even tried would fail as "could not be decoded", so a refusal naming the pixels came from the header.
        RefusedAsInvalid(Sanitizer.Sanitize(TestImages.PngBomb()), "pixels");
    }

    [Fact]
    public void Should_refuse_an_animated_webp()
    {
        var animated = AnimatedWebp(frames: 2);
        Assert.Equal(WebpFormat.Instance, Image.DetectFormat(animated));

        RefusedAsInvalid(Sanitizer.Sanitize(animated), "animated");
    }

    [Fact]
    public void Should_accept_a_still_webp_in_the_extended_format()
    {
        // TestImages' WebP carries EXIF, so it is VP8X too: only the animation flag refuses one.
        var still = TestImages.Webp();
        Assert.Equal("VP8X", Encoding.ASCII.GetString(still, 12, 4));
        Assert.Equal(0, still[20] & 0x02);

        Assert.Equal(MediaTypes.Webp, Clean(still).ContentType);
    }

    [Fact]
    public void Should_turn_a_sideways_photo_upright()
    {
        // Orientation 6: the camera was turned, and the picture is shown rotated 90° clockwise.
        var sideways = JpegWithRedCorner(orientation: 6);

        var clean = Clean(sideways);

        Assert.Equal((TestImages.Height, TestImages.Width), (clean.Width, clean.Height));
        Assert.Equal((MediaTypes.Jpeg, TestImages.Height, TestImages.Width, false), TestImages.Inspect(clean.Bytes));
        using var upright = Image.Load<Rgba32>(clean.Bytes);
        // The top-left corner, turned clockwise, is now the top-right one.
        Assert.True(IsRed(upright[clean.Width - 8, 8]), $"top-right is {upright[clean.Width - 8, 8]}");
        Assert.False(IsRed(upright[8, 8]), $"top-left is {upright[8, 8]}");
    }

    [Fact]
    public void Should_keep_only_the_first_frame_of_an_animated_gif()
    {
        var animated = AnimatedGif(new Rgba32(255, 0, 0), new Rgba32(0, 255, 0), new Rgba32(0, 0, 255));
        using (var original = Image.Load(animated)) Assert.Equal(3, original.Frames.Count);
        Assert.True(TestImages.HoldsSecret(animated));

        var clean = Clean(animated);

        Assert.Equal(MediaTypes.Gif, clean.ContentType);
        using var single = Image.Load<Rgba32>(clean.Bytes);
        Assert.Equal(1, single.Frames.Count);
        Assert.True(IsRed(single[4, 4]), $"the frame kept is {single[4, 4]}, not the first");
        Assert.False(TestImages.HoldsSecret(clean.Bytes));
    }

    [Fact]
    public void Should_honour_the_limits_it_is_given()
    {
        var png = TestImages.Png();
        const long pixels = (long)TestImages.Width * TestImages.Height;

        RefusedAsInvalid(new ImageSanitizer(new MediaLimits(MaxPixels: 100)).Sanitize(png), "at most 100 pixels");
        RefusedAsInvalid(new ImageSanitizer(new MediaLimits(MaxPixels: pixels - 1)).Sanitize(png), "pixels");
        Clean(png, new ImageSanitizer(new MediaLimits(MaxPixels: pixels)));

        Refused(ErrorCodes.PayloadTooLarge, new ImageSanitizer(new MediaLimits(MaxBytes: png.Length - 1)).Sanitize(png));
        Clean(png, new ImageSanitizer(new MediaLimits(MaxBytes: png.Length)));
    }

    private static bool IsRed(Rgba32 pixel) => pixel.R > 200 && pixel.G < 60 && pixel.B < 60;

    private static byte[] EncodeBmp()
    {
        using var image = new Image<Rgba32>(8, 8, new Rgba32(1, 2, 3));
        using var output = new MemoryStream();
        image.Save(output, new BmpEncoder());
        return output.ToArray();
    }

    /// <summary>A blue JPEG of the test size with a red top-left corner and the given EXIF orientation.</summary>
    private static byte[] JpegWithRedCorner(ushort orientation)
    {
        using var image = new Image<Rgba32>(TestImages.Width, TestImages.Height, new Rgba32(0, 0, 255));
        for (var y = 0; y < 16; y++)
        for (var x = 0; x < 16; x++)
            image[x, y] = new Rgba32(255, 0, 0);
        image.Metadata.ExifProfile = new ExifProfile();
        image.Metadata.ExifProfile.SetValue(ExifTag.Orientation, orientation);
        using var output = new MemoryStream();
        image.Save(output, new JpegEncoder { Quality = 95 });
        return output.ToArray();
    }

    /// <summary>A GIF with one frame per colour, and the metadata's secret in a comment.</summary>
    private static byte[] AnimatedGif(params Rgba32[] colours)
    {
        using var image = new Image<Rgba32>(16, 16, colours[0]);
        foreach (var colour in colours.Skip(1))
        {
            using var frame = new Image<Rgba32>(16, 16, colour);
            image.Frames.AddFrame(frame.Frames.RootFrame);
        }
        image.Metadata.GetGifMetadata().Comments.Add(TestImages.Secret);
        using var output = new MemoryStream();
        image.Save(output, new GifEncoder());
        return output.ToArray();
    }

    /// <summary>
    /// An animated WebP, assembled by the container spec: VP8X with the animation flag, ANIM, and
    /// one ANMF per frame around a still lossless frame. ImageSharp 2.1 cannot write one (its
    /// encoder writes the root frame alone); libwebp's webpinfo and webpmux read this file as a
    /// valid 2-frame animation.
    /// </summary>
    private static byte[] AnimatedWebp(int frames)
    {
        const int side = 16;
        byte[] still;
        using (var image = new Image<Rgba32>(side, side, new Rgba32(255, 0, 0)))
        using (var output = new MemoryStream())
        {
            image.Save(output, new WebpEncoder { FileFormat = WebpFileFormatType.Lossless });
            still = output.ToArray();
        }
        Assert.Equal("VP8L", Encoding.ASCII.GetString(still, 12, 4));
        var frameChunk = still[12..];

        using var body = new MemoryStream();
        body.Write("WEBP"u8);
        WriteChunk(body, "VP8X", [0x02, 0, 0, 0, .. U24(side - 1), .. U24(side - 1)]);
        WriteChunk(body, "ANIM", [0, 0, 0, 0, 0, 0]); // background colour, loop forever
        for (var i = 0; i < frames; i++)
            // offset x/2, offset y/2, width-1, height-1, duration in ms, no blending or disposal
            WriteChunk(body, "ANMF", [.. U24(0), .. U24(0), .. U24(side - 1), .. U24(side - 1), .. U24(100), 0, .. frameChunk]);

        using var file = new MemoryStream();
        file.Write("RIFF"u8);
        Span<byte> size = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(size, (uint)body.Length);
        file.Write(size);
        body.WriteTo(file);
        return file.ToArray();
    }

    private static byte[] U24(int value) => [(byte)value, (byte)(value >> 8), (byte)(value >> 16)];

    private static void WriteChunk(Stream riff, string fourCc, byte[] payload)
    {
        riff.Write(Encoding.ASCII.GetBytes(fourCc));
        Span<byte> size = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(size, (uint)payload.Length);
        riff.Write(size);
        riff.Write(payload);
        if (payload.Length % 2 == 1) riff.WriteByte(0);
    }
}
