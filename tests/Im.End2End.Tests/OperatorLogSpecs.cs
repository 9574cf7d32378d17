using System.Net;
using System.Text.Json;
using Im.Contracts;
using Im.TestSupport;

namespace Im.End2End.Tests;

/// <summary>
/// The log an operator acts on, as JSON lines (<c>Logging__Console__FormatterName=json</c>): what the
/// node is wired to, when it is ready, membership, one line per request, AI failures by record.
/// </summary>
[Collection(EndToEnd.Name)]
public sealed class OperatorLogSpecs(E2EFixture fixture)
{
    [Fact]
    public async Task Should_log_json_lines_an_operator_can_act_on()
    {
        await using var host = await HostProcess.Start(new Dictionary<string, string>
        {
            ["Ai__Endpoint"] = fixture.Ai.Url,
            ["Logging__LogLevel__Default"] = "Information",
            ["Logging__Console__FormatterName"] = "json",
        });
        var (_, patient, group) = await host.Api.CreateConsultation();
        await host.Api.SendMessage(patient.UserId, group.GroupId, "#http500");
        await Eventually.True(async () => (await host.Api.ListAiInteractions(group.GroupId)).Records.Single().Status == AiRecordStatus.Failed,
            TimeSpan.FromSeconds(20), "the AI record closed");
        var record = (await host.Api.ListAiInteractions(group.GroupId)).Records.Single();
        Assert.Equal(HttpStatusCode.BadRequest, (await host.Api.Get($"/api/message/list?group_id={group.GroupId}&page=0&secret=q-{group.GroupId}")).Status);

        List<(string Category, string Level, string Message)> lines = [];
        await Eventually.True(() =>
        {
            lines = Lines(host.Output);
            return lines.Any(l => l.Message.Contains("HTTP GET /api/message/list answered 400", StringComparison.Ordinal))
                && lines.Any(l => l.Message.Contains(record.RecordId, StringComparison.Ordinal));
        }, TimeSpan.FromSeconds(10), "the request's and the AI failure's lines");

        var startup = Assert.Single(lines, l => l.Message.StartsWith("ImAkka ", StringComparison.Ordinal));
        foreach (var fact in new[] { $"listening on {host.BaseAddress.ToString().TrimEnd('/')}", "store embedded (Garnet, data in ", "auth mode Header",
                     $"AI {fixture.Ai.Url}", "Akka node akka.tcp://im@127.0.0.1:", "seeds none (joins itself)" })
            Assert.Contains(fact, startup.Message, StringComparison.Ordinal);
        Assert.Contains(lines, l => l.Message.StartsWith("Ready: akka.tcp://im@", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Message.Contains("Cluster member akka.tcp://im@127.0.0.1:", StringComparison.Ordinal) && l.Message.Contains("is up", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Category == "Im.Host.Requests" && l.Message.StartsWith("HTTP POST /api/message/send answered 200 in ", StringComparison.Ordinal));
        var failure = Assert.Single(lines, l => l.Message.Contains(record.RecordId, StringComparison.Ordinal));
        Assert.Contains(ErrorCodes.AiCallFailed, failure.Message, StringComparison.Ordinal);
        Assert.Equal("Warning", failure.Level);
        // The route, never the query or the ids in the path: no line holds the group id.
        Assert.DoesNotContain(lines, l => l.Message.Contains(group.GroupId, StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Message.Contains("#http500", StringComparison.Ordinal));
    }

    /// <summary>
    /// "Ready" means requests are served, so it comes after Kestrel listens and after the start-up line,
    /// once: a node that joins itself has its shard regions answering before the server listens.
    /// </summary>
    [Fact]
    public async Task Should_log_ready_once_after_the_server_listens_and_the_start_up_line()
    {
        await using var host = await HostProcess.Start(new Dictionary<string, string>
        {
            ["Logging__LogLevel__Default"] = "Information",
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
            ["Logging__Console__FormatterName"] = "json",
        });
        static bool IsReady((string Category, string Level, string Message) line) =>
            line.Message.StartsWith("Ready: akka.tcp://im@", StringComparison.Ordinal) && line.Message.Contains(" serves requests", StringComparison.Ordinal);

        List<(string Category, string Level, string Message)> lines = [];
        await Eventually.True(() => (lines = Lines(host.Output)).Any(IsReady), TimeSpan.FromSeconds(10), "the Ready line");

        var listening = lines.FindIndex(l => l.Category == "Microsoft.Hosting.Lifetime"
            && l.Message == $"Now listening on: {host.BaseAddress.ToString().TrimEnd('/')}");
        var startup = lines.FindIndex(l => l.Message.StartsWith("ImAkka ", StringComparison.Ordinal));
        var ready = lines.FindIndex(IsReady);
        var order = $"listening at line {listening}, start-up at {startup}, ready at {ready}:\n{host.Output}";
        Assert.True(listening >= 0 && startup >= 0, order);
        Assert.True(listening < ready, "Ready before Kestrel listens; " + order);
        Assert.True(startup < ready, "Ready before the start-up line; " + order);
        Assert.Single(lines, IsReady);
    }

    /// <summary>The JSON console formatter's lines; anything else the process printed is not a log line.</summary>
    private static List<(string Category, string Level, string Message)> Lines(string output)
    {
        var lines = new List<(string, string, string)>();
        foreach (var line in output.Split('\n'))
        {
            if (!line.StartsWith('{')) continue;
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            lines.Add((root.GetProperty("Category").GetString()!, root.GetProperty("LogLevel").GetString()!, root.GetProperty("Message").GetString()!));
        }
        return lines;
    }
}
