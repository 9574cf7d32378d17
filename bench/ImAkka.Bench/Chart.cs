using ScottPlot;

namespace ImAkka.Bench;

/// <summary>
/// The report's picture: one bar per judged figure (ImAkka ÷ baseline, median over rounds) with its
/// spread as an error bar and its target as a dashed mark, green where met and red where missed.
/// The axis stops at 4×; a bar beyond it is cut and its label says its value.
/// </summary>
public static class Chart
{
    private const string Font = "DejaVu Sans";

    public static void Write(List<Headline> headlines, string path, string fontFile, string title)
    {
        if (File.Exists(fontFile))
        {
            Fonts.AddFontFile(Font, fontFile);
            Fonts.Default = Font;
        }
        var judged = headlines.Where(h => h.TargetValue is not null && h.Ratio.Rounds > 0 && !double.IsNaN(h.Ratio.Median)).ToList();
        // Ratios far above the targets would squash the rest; those bars are cut at the top and say their value.
        const double cap = 4;
        double Shown(double v) => Math.Min(v, cap);
        var plot = new Plot();
        var green = Color.FromHex("#2e7d32");
        var red = Color.FromHex("#c62828");
        var bars = judged.Select((h, i) => new Bar
        {
            Position = i,
            Value = Shown(h.Ratio.Median),
            FillColor = (h.Met == true ? green : red).WithAlpha(0.75),
            LineWidth = 0,
            Label = Fmt.R(h.Ratio.Median) + "×" + (h.Ratio.Median > cap ? " ↑" : "") + (h.ChartNote is null ? "" : "\n" + h.ChartNote),
        }).ToList();
        var barPlot = plot.Add.Bars(bars);
        barPlot.ValueLabelStyle.FontSize = 13;
        var positions = judged.Select((_, i) => (double)i).ToList();
        var errors = plot.Add.ErrorBar(positions, judged.Select(h => Shown(h.Ratio.Median)).ToList(),
            judged.Select(h => Shown(h.Ratio.Median) - Shown(h.Ratio.Min)).ToList());
        errors.YErrorPositive = judged.Select(h => Shown(h.Ratio.Max) - Shown(h.Ratio.Median)).ToList();
        errors.YErrorNegative = judged.Select(h => Shown(h.Ratio.Median) - Shown(h.Ratio.Min)).ToList();
        errors.Color = Colors.Black;
        errors.LineWidth = 1.5f;
        foreach (var (h, i) in judged.Select((h, i) => (h, i)))
        {
            var line = plot.Add.Line(i - 0.45, h.TargetValue!.Value, i + 0.45, h.TargetValue.Value);
            line.LineWidth = 2.5f;
            line.LinePattern = LinePattern.Dashed;
            line.Color = Colors.Black;
        }
        var one = plot.Add.HorizontalLine(1, 1, Colors.Gray, LinePattern.Dotted);
        one.ExcludeFromLegend = true;
        plot.Axes.Bottom.SetTicks(positions.ToArray(),
            judged.Select(h => $"{h.Chart}\n(target {(h.Target.StartsWith('≥') ? "≥" : "≤")} {Fmt.R(h.TargetValue!.Value)})").ToArray());
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.Left.Label.Text = "ImAkka ÷ baseline (median, spread over rounds)";
        plot.Axes.Margins(bottom: 0);
        var top = judged.Select(h => Math.Max(Shown(h.Ratio.Max), h.TargetValue!.Value)).DefaultIfEmpty(1).Max();
        plot.Axes.SetLimitsY(0, Math.Max(1.6, top * 1.2));
        plot.Title(title);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        plot.SavePng(path, 1100, 520);
    }
}
