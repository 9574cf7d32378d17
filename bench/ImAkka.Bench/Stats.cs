using System.Globalization;

namespace ImAkka.Bench;

/// <summary>Latencies in microseconds, sorted once, read by percentile.</summary>
public sealed class Latencies
{
    private readonly double[] _sorted;

    public Latencies(IEnumerable<double> micros)
    {
        _sorted = micros.ToArray();
        Array.Sort(_sorted);
    }

    public int Count => _sorted.Length;

    /// <summary>Nearest-rank percentile in microseconds; NaN when there is nothing.</summary>
    public double P(double percentile)
    {
        if (_sorted.Length == 0) return double.NaN;
        var rank = (int)Math.Ceiling(percentile / 100 * _sorted.Length);
        return _sorted[Math.Clamp(rank - 1, 0, _sorted.Length - 1)];
    }

    public double P50 => P(50);
    public double P99 => P(99);
    public double P999 => P(99.9);
    public double Max => _sorted.Length == 0 ? double.NaN : _sorted[^1];
}

/// <summary>A figure over rounds: its median and its spread (min–max).</summary>
public sealed record Spread(double Median, double Min, double Max, int Rounds)
{
    public static Spread Of(IEnumerable<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).OrderBy(v => v).ToArray();
        if (sorted.Length == 0) return new Spread(double.NaN, double.NaN, double.NaN, 0);
        var median = sorted.Length % 2 == 1
            ? sorted[sorted.Length / 2]
            : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        return new Spread(median, sorted[0], sorted[^1], sorted.Length);
    }

    public string Ratio => double.IsNaN(Median) ? "n/a"
        : Rounds > 1 ? $"**{Fmt.R(Median)}×** ({Fmt.R(Min)}–{Fmt.R(Max)})" : $"**{Fmt.R(Median)}×**";
}

public static class Fmt
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    /// <summary>A ratio: two decimals.</summary>
    public static string R(double v) => double.IsNaN(v) ? "n/a" : v.ToString("0.00", C);

    /// <summary>A rate or count: thousands separated.</summary>
    public static string N(double v) => double.IsNaN(v) ? "n/a" : v.ToString("#,0", C);

    /// <summary>Milliseconds from microseconds, with enough digits for sub-millisecond figures.</summary>
    public static string Ms(double micros) => double.IsNaN(micros) ? "n/a"
        : micros >= 100_000 ? (micros / 1000).ToString("#,0", C)
        : micros >= 10_000 ? (micros / 1000).ToString("0.0", C)
        : (micros / 1000).ToString("0.00", C);

    public static string D(double v, string format = "0.0") => double.IsNaN(v) ? "n/a" : v.ToString(format, C);

    public static string Kb(double bytes) => double.IsNaN(bytes) ? "n/a" : (bytes / 1024).ToString("0.0", C);
}
