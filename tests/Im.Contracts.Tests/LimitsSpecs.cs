using Im.Contracts;

namespace Im.Contracts.Tests;

public sealed class LimitsSpecs
{
    [Theory]
    [InlineData("", 0)]
    [InlineData("abc", 3)]
    [InlineData("张三", 2)]
    [InlineData("😀", 1)]
    [InlineData("a😀b", 3)]
    [InlineData("👍🏽", 2)] // thumbs up + skin tone modifier: two code points, four UTF-16 units
    public void Should_count_code_points_not_utf16_units(string value, int expected) =>
        Assert.Equal(expected, Limits.CountCharacters(value));

    [Fact]
    public void Should_match_the_spec_bounds()
    {
        Assert.Equal(64, Limits.UsernameMax);
        Assert.Equal(5000, Limits.ContentMax);
        Assert.Equal(100, Limits.PageSizeMax);
        Assert.Equal(20, Limits.DefaultPageSize);
    }
}
