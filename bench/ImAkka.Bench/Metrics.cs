using System.Diagnostics;
using System.Globalization;

namespace ImAkka.Bench;

/// <summary>A scrape of ImAkka's <c>/metrics</c> (Prometheus text), as series → value.</summary>
public sealed class Scrape(Dictionary<string, double> series)
{
    public static async Task<Scrape> From(HttpClient http, Uri baseAddress)
    {
        var text = await http.GetStringAsync(new Uri(baseAddress, "/metrics"));
        var series = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            // name{labels} value [timestamp], or name value [timestamp]; label values hold no '}' here.
            var close = line.IndexOf('}');
            var split = close >= 0 ? close + 1 : line.IndexOf(' ');
            if (split <= 0 || split >= line.Length) continue;
            var head = line[..split];
            var value = line[split..].Trim().Split(' ')[0];
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed)) series[head] = parsed;
        }
        return new Scrape(series);
    }

    /// <summary>The sum over every series of <paramref name="name"/> whose labels contain <paramref name="label"/> (e.g. <c>msg_type="TEXT"</c>).</summary>
    public double Sum(string name, string? label = null) =>
        series.Where(s => (s.Key == name || s.Key.StartsWith(name + "{", StringComparison.Ordinal))
                && (label is null || s.Key.Contains(label, StringComparison.Ordinal)))
            .Sum(s => s.Value);

    public bool Has(string name) => series.Keys.Any(k => k == name || k.StartsWith(name + "{", StringComparison.Ordinal));
}

/// <summary>Samples a few series every so often while something runs, keeping the largest value seen of each.</summary>
public sealed class MetricsSampler(HttpClient http, Uri baseAddress, TimeSpan every, params string[] names)
{
    private readonly Dictionary<string, double> _max = names.ToDictionary(n => n, _ => 0.0, StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public int Samples { get; private set; }

    public void Start() => _loop = Task.Run(async () =>
    {
        while (!_stop.IsCancellationRequested)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                var scrape = await Scrape.From(http, baseAddress);
                foreach (var name in names) _max[name] = Math.Max(_max[name], scrape.Sum(name));
                Samples++;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }
            var wait = every - Stopwatch.GetElapsedTime(started);
            try
            {
                if (wait > TimeSpan.Zero) await Task.Delay(wait, _stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }
    });

    public async Task<IReadOnlyDictionary<string, double>> Stop()
    {
        await _stop.CancelAsync();
        await _loop;
        return _max;
    }
}
