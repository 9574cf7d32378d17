using System.Globalization;
using System.Text.RegularExpressions;

namespace Im.TestSupport;

/// <summary>
/// A scrape of <c>/metrics</c> read the way Prometheus reads it: metric families with their
/// <c># TYPE</c>, and samples with their labels. Enough of the text formats for what the exporter
/// writes (no escaped quotes in label values are needed here, but they are read).
/// </summary>
public sealed partial class PrometheusText
{
    private PrometheusText(Dictionary<string, string> types, List<Sample> samples, string text)
    {
        Types = types;
        Samples = samples;
        Text = text;
    }

    /// <summary>Family name → type (<c>counter</c>, <c>gauge</c>, <c>histogram</c>, …), as the <c># TYPE</c> lines say.</summary>
    public IReadOnlyDictionary<string, string> Types { get; }

    public IReadOnlyList<Sample> Samples { get; }

    public string Text { get; }

    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
    {
        /// <summary>The labels as one string, <c>le</c> included, for comparing series identities.</summary>
        public string LabelText => string.Join(",", Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));
    }

    /// <summary>A host's <c>/metrics</c> as a loopback caller reads it.</summary>
    public static async Task<PrometheusText> Scrape(HostProcess host) => Parse(await host.Http.GetStringAsync("/metrics"));

    public static PrometheusText Parse(string text)
    {
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var samples = new List<Sample>();
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                types[parts[2]] = parts[3];
                continue;
            }
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var match = SampleLine().Match(line);
            if (!match.Success) throw new FormatException($"not a sample line: {line}");
            var labels = LabelPair().Matches(match.Groups["labels"].Value)
                .ToDictionary(m => m.Groups[1].Value, m => Regex.Unescape(m.Groups[2].Value), StringComparer.Ordinal);
            var value = match.Groups["value"].Value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                var v => double.Parse(v, CultureInfo.InvariantCulture),
            };
            samples.Add(new Sample(match.Groups["name"].Value, labels, value));
        }
        return new PrometheusText(types, samples, text);
    }

    /// <summary>The samples of a series name whose labels include <paramref name="labels"/> (<c>"k=v"</c> each).</summary>
    public IEnumerable<Sample> Series(string name, params string[] labels) =>
        Samples.Where(s => s.Name == name && labels.All(l =>
        {
            var (key, value) = (l[..l.IndexOf('=', StringComparison.Ordinal)], l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..]);
            return s.Labels.TryGetValue(key, out var actual) && actual == value;
        }));

    /// <summary>The one value of a series; throws when it is missing or not one series.</summary>
    public double Value(string name, params string[] labels)
    {
        var found = Series(name, labels).ToList();
        return found.Count == 1
            ? found[0].Value
            : throw new InvalidOperationException($"{found.Count} series {name}{{{string.Join(",", labels)}}} in the scrape");
    }

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)(\s+\S+)?$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();
}
