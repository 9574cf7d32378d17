using Im.TestSupport;

namespace Im.Actors.Tests;

/// <summary>The image fixtures are what they claim, so that "the metadata is gone" can fail.</summary>
public sealed class TestImagesSpecs
{
    [Fact]
    public void Should_build_each_format_with_the_secret_in_its_metadata()
    {
        foreach (var (contentType, bytes) in TestImages.All())
        {
            var (mime, width, height, _) = TestImages.Inspect(bytes);
            Assert.Equal((contentType, TestImages.Width, TestImages.Height), (mime, width, height));
            Assert.True(TestImages.HoldsSecret(bytes), $"{contentType} carries no metadata to remove");
        }
        Assert.True(TestImages.Inspect(TestImages.Jpeg()).HasExif, "the JPEG carries no EXIF");
    }

    [Fact]
    public void Should_build_a_bomb_that_is_small_and_claims_a_huge_canvas()
    {
        var bomb = TestImages.PngBomb();

        Assert.True(bomb.Length < 10_000, $"{bomb.Length} bytes");
        Assert.Equal(("image/png", 20_000, 20_000), TestImages.Inspect(bomb) is var (mime, w, h, _) ? (mime, w, h) : default);
    }
}
