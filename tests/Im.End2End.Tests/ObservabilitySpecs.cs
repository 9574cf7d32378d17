using System.Net;
using System.Net.Http.Headers;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Im.Contracts;
using Im.TestSupport;
using Xunit.Abstractions;

namespace Im.End2End.Tests;

/// <summary>
/// <c>/metrics</c>, <c>/api/ops/cluster</c> and the health endpoints of one fresh host in the
/// default setup: Header mode, embedded store, built-in AI stand-in, no <c>Ops__Token</c>. It listens
/// on every interface, so a caller from another address than loopback can be tried too.
/// </summary>
[Collection(EndToEnd.Name)]
public sealed class ObservabilitySpecs(ObservabilitySpecs.FreshHost fixture, ITestOutputHelper output) : IClassFixture<ObservabilitySpecs.FreshHost>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    /// <summary>DESIGN.md's series, exactly, with the type the exporter gives each family.</summary>
    private static readonly Dictionary<string, string> ImFamilies = new()
    {
        ["im_messages_stored_total"] = "counter",
        ["im_websocket_connections"] = "gauge",
        ["im_pushes_total"] = "counter",
        ["im_fanout_events_total"] = "counter",
        ["im_ai_calls_total"] = "counter",
        ["im_ai_call_duration_seconds"] = "histogram",
        ["im_ai_calls_in_flight"] = "gauge",
        ["im_ai_queue_length"] = "gauge",
        ["im_ai_breaker_state"] = "gauge",
        ["im_group_actors"] = "gauge",
        ["im_ask_timeouts_total"] = "counter",
    };

    private static readonly string[] MsgTypes = [MessageTypes.Text, MessageTypes.Image, MessageTypes.AiReply];
    private static readonly string[] AiOutcomes = ["ok", "4001", "4002", "4003", "4004", "circuit_open"];

    private HostProcess Host => fixture.Host;

    private async Task<PrometheusText> Scrape(bool openMetrics = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        if (openMetrics) request.Headers.Accept.ParseAdd("application/openmetrics-text; version=1.0.0; charset=utf-8");
        using var response = await Host.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith(openMetrics ? "application/openmetrics-text" : "text/plain", response.Content.Headers.ContentType?.ToString());
        return PrometheusText.Parse(await response.Content.ReadAsStringAsync());
    }

    /// <summary>The histogram's series identities: its buckets' label sets, <c>le</c> as the format writes it.</summary>
    private static List<string> DurationBuckets(PrometheusText scrape) =>
        scrape.Series("im_ai_call_duration_seconds_bucket").Select(s => s.LabelText).ToList();

    private async Task<PrometheusText> ScrapeUntil(Func<PrometheusText, bool> moved, string what)
    {
        PrometheusText? last = null;
        await Eventually.True(async () => moved(last = await Scrape()), Wait, what);
        return last!;
    }

    [Fact]
    public async Task Should_export_every_im_series_at_zero_from_start_then_move_each_with_the_traffic_it_counts()
    {
        var fresh = await Scrape();
        Assert.Equal(ImFamilies.OrderBy(f => f.Key), fresh.Types.Where(t => t.Key.StartsWith("im_", StringComparison.Ordinal)).OrderBy(t => t.Key));
        foreach (var type in MsgTypes) Assert.Equal(0, fresh.Value("im_messages_stored_total", $"msg_type={type}"));
        foreach (var outcome in AiOutcomes) Assert.Equal(0, fresh.Value("im_ai_calls_total", $"outcome={outcome}"));
        foreach (var name in new[]
                 {
                     "im_websocket_connections", "im_pushes_total", "im_fanout_events_total", "im_ai_calls_in_flight", "im_ai_queue_length",
                     "im_ai_breaker_state", "im_group_actors", "im_ask_timeouts_total", "im_ai_call_duration_seconds_count",
                     "im_ai_call_duration_seconds_sum",
                 })
            Assert.Equal(0, fresh.Value(name));
        Assert.All(fresh.Series("im_ai_call_duration_seconds_bucket"), bucket => Assert.Equal(0, bucket.Value));
        var bucketsBefore = (Text: DurationBuckets(fresh), OpenMetrics: DurationBuckets(await Scrape(openMetrics: true)));
        Assert.Contains("le=+Inf,otel_scope_name=ImAkka", bucketsBefore.Text);

        var api = Host.Api;
        var (doctor, patient, group) = await api.CreateConsultation();
        await using (var doctorSocket = await WsClient.Connect(Host.BaseAddress, doctor.UserId))
        {
            await ScrapeUntil(s => s.Value("im_websocket_connections") == 1, "the open socket counted");
            var sent = await api.SendMessage(patient.UserId, group.GroupId, "我头疼");
            // The message, the reply's states and pieces, the reply, and "done" last.
            var frames = 0;
            JsonNode frame;
            do
            {
                frame = await doctorSocket.Next();
                frames++;
            } while ((string?)frame["state"] != AiStates.Done);
            Assert.True(frames >= 5, $"{frames} frames");

            // The patient's message and the AI's reply stored once each; every frame received once by the
            // fan-out and pushed once to the doctor's one socket (the patient has none).
            var moved = await ScrapeUntil(s =>
                s.Value("im_messages_stored_total", "msg_type=TEXT") == 1 && s.Value("im_messages_stored_total", "msg_type=AI_REPLY") == 1
                && s.Value("im_fanout_events_total") == frames && s.Value("im_pushes_total") == frames
                && s.Value("im_ai_calls_total", "outcome=ok") == 1 && s.Value("im_ai_call_duration_seconds_count") == 1
                && s.Value("im_ai_calls_in_flight") == 0, "the consultation's traffic counted");
            Assert.Equal(0, moved.Value("im_messages_stored_total", "msg_type=IMAGE"));
            foreach (var outcome in AiOutcomes.Skip(1)) Assert.Equal(0, moved.Value("im_ai_calls_total", $"outcome={outcome}"));
            Assert.InRange(moved.Value("im_ai_call_duration_seconds_sum"), 0.000001, 30);
            Assert.Equal(1, moved.Value("im_group_actors"));
            Assert.Equal((0, 0, 0), (moved.Value("im_ai_queue_length"), moved.Value("im_ai_breaker_state"), moved.Value("im_ask_timeouts_total")));
        }
        var closed = await ScrapeUntil(s => s.Value("im_websocket_connections") == 0, "the closed socket no longer counted");

        // The histogram the host wrote while empty is the one the exporter writes now, series for series.
        Assert.Equal(bucketsBefore.Text, DurationBuckets(closed));
        Assert.Equal(bucketsBefore.OpenMetrics, DurationBuckets(await Scrape(openMetrics: true)));
        Assert.Equal(1, closed.Series("im_ai_call_duration_seconds_bucket", "le=+Inf").Single().Value);

        // ASP.NET Core's, Kestrel's and the runtime's own meters are there too.
        Assert.Equal("histogram", closed.Types["http_server_request_duration_seconds"]);
        Assert.Contains(closed.Series("http_server_request_duration_seconds_count"), s => s.Labels.GetValueOrDefault("http_route") == "/api/message/send");
        Assert.Equal("gauge", closed.Types["kestrel_active_connections"]);
        Assert.True(closed.Value("dotnet_process_memory_working_set_bytes") > 0);
        Assert.Contains("dotnet_gc_heap_total_allocated_bytes_total", closed.Types.Keys);
    }

    [Fact]
    public async Task Should_serve_metrics_and_ops_to_loopback_callers_only_while_no_ops_token_is_set()
    {
        foreach (var path in new[] { "/metrics", "/api/ops/cluster" })
        {
            using var fromLoopback = await Host.Http.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, fromLoopback.StatusCode);
        }

        // The same host from its other address: a caller on the network, not loopback.
        if (OtherAddress() is not { } address)
        {
            output.WriteLine("This machine has no address but loopback: only loopback callers were tried.");
            return;
        }
        using var fromNetwork = new HttpClient { BaseAddress = new Uri($"http://{address}:{Host.Port}") };
        foreach (var path in new[] { "/metrics", "/api/ops/cluster" })
        {
            using var anonymous = await fromNetwork.GetAsync(path);
            await AssertError(anonymous, HttpStatusCode.Unauthorized, ErrorCodes.Unauthorized);
            Assert.Equal("Bearer", anonymous.Headers.WwwAuthenticate.Single().Scheme);

            // Someone the host knows, but no operator: refused, not asked to authenticate.
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add("X-User-Id", "user_20250101000000_abcdefgh");
            using var named = await fromNetwork.SendAsync(request);
            await AssertError(named, HttpStatusCode.Forbidden, ErrorCodes.Forbidden);

            using var bearer = new HttpRequestMessage(HttpMethod.Get, path);
            bearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "no-token-is-configured");
            await AssertError(await fromNetwork.SendAsync(bearer), HttpStatusCode.Unauthorized, ErrorCodes.Unauthorized);
        }
        // The page itself is public; what it shows is not.
        using var page = await fromNetwork.GetAsync("/ops");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
    }

    [Fact]
    public async Task Should_answer_health_as_json_with_the_status_and_description_of_each_check()
    {
        foreach (var (path, checks) in new[] { ("/health/live", new[] { "akka.actorsystem" }), ("/health/ready", new[] { "redis", "shard-regions" }) })
        {
            using var response = await Host.Http.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
            Assert.Equal(["checks", "status"], body.Select(p => p.Key).Order());
            Assert.Equal("Healthy", (string?)body["status"]);
            var found = body["checks"]!.AsObject();
            Assert.Superset(checks.ToHashSet(), found.Select(c => c.Key).ToHashSet());
            foreach (var (_, check) in found)
            {
                Assert.Equal(["description", "status"], check!.AsObject().Select(p => p.Key).Order());
                Assert.Equal("Healthy", (string?)check["status"]);
            }
        }
    }

    private static async Task AssertError(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        Assert.Equal(status, response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal(code, (string?)error["code"]);
        Assert.False(string.IsNullOrWhiteSpace((string?)error["message"]));
        Assert.NotNull(error["details"]);
    }

    /// <summary>An IPv4 address of this machine that is not loopback; null on a machine with none.</summary>
    private static IPAddress? OtherAddress() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));

    public sealed class FreshHost : IAsyncLifetime
    {
        public HostProcess Host { get; private set; } = null!;

        public async Task InitializeAsync() =>
            Host = await HostProcess.Start(new Dictionary<string, string>(), listenHost: "0.0.0.0");

        public async Task DisposeAsync() => await Host.DisposeAsync();
    }
}
