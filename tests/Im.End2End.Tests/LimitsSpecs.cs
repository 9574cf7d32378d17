using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using Im.Contracts;
using Im.TestSupport;
using Xunit.Abstractions;

namespace Im.End2End.Tests;

/// <summary>One host with every limit set low enough to reach in a test.</summary>
public sealed class LimitsFixture : IAsyncLifetime
{
    public const int Rate = 2;
    public const int Burst = 3;
    public const int MaxConnections = 2;
    public const string AllowedOrigin = "https://clinic.example";

    public HostProcess Host { get; private set; } = null!;
    public ImApi Api => Host.Api;

    public async Task InitializeAsync() => Host = await HostProcess.Start(new Dictionary<string, string>
    {
        ["Im__SendRatePerSecond"] = Rate.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Im__SendBurst"] = Burst.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Im__MaxConnectionsPerUser"] = MaxConnections.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Im__AllowedOrigins"] = $"{AllowedOrigin}, https://app.clinic.example",
    });

    public async Task DisposeAsync() => await Host.DisposeAsync();

    /// <summary>A group whose members are all doctors, so no send calls the AI.</summary>
    public async Task<(string Group, List<string> Doctors)> DoctorsGroup(int doctors)
    {
        var ids = new List<string>();
        for (var i = 0; i < doctors; i++) ids.Add((await Api.CreateUser(UserRoles.Doctor)).UserId);
        var group = await Api.CreateGroup(ids[0]);
        foreach (var id in ids.Skip(1)) await Api.AddMember(group.GroupId, id, UserRoles.Doctor);
        return (group.GroupId, ids);
    }
}

/// <summary>Abuse is bounded: sends per user, sockets per user, frame size, browser origins.</summary>
[Collection(EndToEnd.Name)]
public sealed class LimitsSpecs(LimitsFixture fixture, ITestOutputHelper output) : IClassFixture<LimitsFixture>
{
    [Fact]
    public async Task Should_throttle_a_flooding_user_while_another_member_keeps_sending()
    {
        var (group, doctors) = await fixture.DoctorsGroup(2);
        var (flooder, other) = (doctors[0], doctors[1]);
        var clock = Stopwatch.StartNew();

        var flood = Enumerable.Range(0, 200).Select(i => Send(flooder, group, $"flood {i}")).ToList();
        var latencies = new List<TimeSpan>();
        for (var i = 0; i < LimitsFixture.Burst; i++)
        {
            var started = clock.Elapsed;
            var (status, _, _) = await Send(other, group, $"still here {i}");
            latencies.Add(clock.Elapsed - started);
            Assert.Equal(HttpStatusCode.OK, status);
        }
        var flooded = await Task.WhenAll(flood);
        var elapsed = clock.Elapsed;

        var accepted = flooded.Count(r => r.Status == HttpStatusCode.OK);
        var limited = flooded.Where(r => r.Status == HttpStatusCode.TooManyRequests).ToList();
        output.WriteLine($"flood: {accepted} accepted, {limited.Count} limited in {elapsed.TotalSeconds:F1} s; the other member's sends took " +
                         string.Join(", ", latencies.Select(l => $"{l.TotalMilliseconds:F0} ms")));
        Assert.Equal(flooded.Length, accepted + limited.Count);
        // Not a speed target, a starvation check: refused sends cost the writer nothing, so the other
        // member's sends do not queue behind the flood (they take milliseconds; 2 s leaves room for a busy machine).
        Assert.All(latencies, latency => Assert.True(latency < TimeSpan.FromSeconds(2), $"a send took {latency.TotalMilliseconds:F0} ms during the flood"));
        Assert.InRange(accepted, LimitsFixture.Burst, LimitsFixture.Burst + (int)Math.Ceiling(elapsed.TotalSeconds * LimitsFixture.Rate) + 1);
        Assert.All(limited, r =>
        {
            Assert.Equal(ErrorCodes.RateLimited, r.Code);
            Assert.True(r.RetryAfter >= 1, $"Retry-After {r.RetryAfter}");
        });
        // The refused sends stored nothing: the group holds exactly what was accepted.
        var history = await fixture.Api.History(group);
        Assert.Equal(accepted, history.Count(m => m.FromUserId == flooder));
        Assert.Equal(LimitsFixture.Burst, history.Count(m => m.FromUserId == other));
    }

    [Fact]
    public async Task Should_share_one_budget_between_rest_and_websocket_and_say_when_to_retry()
    {
        var (group, doctors) = await fixture.DoctorsGroup(1);
        var sender = doctors[0];
        await using var socket = await WsClient.Connect(fixture.Host.BaseAddress, sender);
        for (var i = 0; i < LimitsFixture.Burst; i++) Assert.Equal(HttpStatusCode.OK, (await Send(sender, group, $"rest {i}")).Status);
        // Those pushes come first; drain them so the next frame is the answer to the socket's send.
        for (var i = 0; i < LimitsFixture.Burst; i++) await socket.NextOfType(FrameTypes.MessageSent);

        await socket.SendJson(new { type = FrameTypes.SendMessage, group_id = group, content = "over the limit", client_msg_id = "ws-1" });

        var refused = await socket.Next();
        Assert.Equal((FrameTypes.Error, ErrorCodes.RateLimited, "ws-1"),
            ((string?)refused["type"], (string?)refused["code"], (string?)refused["client_msg_id"]));
        Assert.True((int)refused["retry_after"]! >= 1, refused.ToJsonString());

        // The socket stays open, and the budget comes back at the documented rate.
        await Eventually.True(async () =>
        {
            await socket.SendJson(new { type = FrameTypes.SendMessage, group_id = group, content = "later", client_msg_id = "ws-2" });
            var answer = await socket.Next();
            return (string?)answer["type"] == FrameTypes.MessageSent && (string?)answer["client_msg_id"] == "ws-2";
        }, TimeSpan.FromSeconds(10), "a send once the bucket refills");
    }

    [Fact]
    public async Task Should_count_image_uploads_against_the_same_budget_as_sends()
    {
        var (group, doctors) = await fixture.DoctorsGroup(1);
        var uploader = doctors[0];
        for (var i = 0; i < LimitsFixture.Burst; i++)
        {
            var (status, body) = await ImageSpecs.Upload(fixture.Host, uploader, group, TestImages.Png(), "image/png", multipart: false);
            Assert.True(status == HttpStatusCode.OK, body?.ToJsonString());
        }

        var (refused, error) = await ImageSpecs.Upload(fixture.Host, uploader, group, TestImages.Png(), "image/png", multipart: false);
        var (send, _, _) = await Send(uploader, group, "and a message");

        Assert.Equal((HttpStatusCode.TooManyRequests, ErrorCodes.RateLimited), (refused, (string?)error!["error"]!["code"]));
        Assert.Equal(HttpStatusCode.TooManyRequests, send);
    }

    [Fact]
    public async Task Should_refuse_one_connection_more_than_the_limit_with_1008()
    {
        var user = (await fixture.Api.CreateUser(UserRoles.Patient)).UserId;
        var open = new List<WsClient>();
        for (var i = 0; i < LimitsFixture.MaxConnections; i++) open.Add(await WsClient.Connect(fixture.Host.BaseAddress, user));

        await using (var extra = await WsClient.Connect(fixture.Host.BaseAddress, user, expectConnected: false))
        {
            var error = await extra.Next();
            Assert.Equal((FrameTypes.Error, ErrorCodes.TooManyConnections), ((string?)error["type"], (string?)error["code"]));
            await extra.Closed.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(WebSocketCloseStatus.PolicyViolation, extra.CloseStatus);
        }

        // Another user is not affected, and a closed connection frees its slot.
        await using (var someoneElse = await WsClient.Connect(fixture.Host.BaseAddress, (await fixture.Api.CreateUser(UserRoles.Doctor)).UserId)) { }
        await open[0].DisposeAsync();
        await Eventually.True(async () =>
        {
            await using var again = await WsClient.Connect(fixture.Host.BaseAddress, user, expectConnected: false);
            return (string?)(await again.Next())["type"] == FrameTypes.Connected;
        }, TimeSpan.FromSeconds(10), "a connection once one was closed");
        foreach (var socket in open.Skip(1)) await socket.DisposeAsync();
    }

    [Fact]
    public async Task Should_close_a_frame_over_64_KiB_with_a_real_1009_close()
    {
        var user = (await fixture.Api.CreateUser(UserRoles.Doctor)).UserId;
        await using var socket = await WsClient.Connect(fixture.Host.BaseAddress, user);

        var content = new string('x', 70 * 1024);
        await socket.SendText($$"""{"type":"send_message","group_id":"g","content":"{{content}}"}""");

        await socket.Closed.WaitAsync(TimeSpan.FromSeconds(15));
        // A dropped TCP connection would leave no close status (a browser shows 1006).
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, socket.CloseStatus);
    }

    [Fact]
    public async Task Should_allow_only_the_configured_browser_origins()
    {
        var user = (await fixture.Api.CreateUser(UserRoles.Doctor)).UserId;

        Assert.Equal(101, await Handshake(user, LimitsFixture.AllowedOrigin));
        Assert.Equal(101, await Handshake(user, origin: null));
        Assert.Equal(403, await Handshake(user, "https://evil.example"));

        Assert.Equal(LimitsFixture.AllowedOrigin, await Preflight(LimitsFixture.AllowedOrigin));
        Assert.Null(await Preflight("https://evil.example"));
    }

    [Fact]
    public async Task Should_warn_when_header_mode_listens_beyond_loopback()
    {
        await using var exposed = await HostProcess.Start(new Dictionary<string, string>(), listenHost: "0.0.0.0");
        await Eventually.True(() => exposed.Output.Contains("Auth__Mode=Header trusts the X-User-Id header", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10), "the Header-mode warning");
        Assert.DoesNotContain("Auth__Mode=Header trusts", fixture.Host.Output, StringComparison.Ordinal);
    }

    private async Task<(HttpStatusCode Status, string? Code, int RetryAfter)> Send(string sender, string group, string content)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/message/send")
        {
            Content = new StringContent(ImJson.Serialize(new { group_id = group, content }), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-User-Id", sender);
        using var response = await fixture.Host.Http.SendAsync(request);
        var body = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync());
        var retryAfter = response.Headers.RetryAfter?.Delta is { } delta ? (int)delta.TotalSeconds : 0;
        return (response.StatusCode, (string?)body?["error"]?["code"], retryAfter);
    }

    /// <summary>101 when the socket opened; otherwise the handshake's status.</summary>
    private async Task<int> Handshake(string user, string? origin)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (origin is not null) socket.Options.SetRequestHeader("Origin", origin);
        try
        {
            await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{fixture.Host.Port}/ws/{user}"), CancellationToken.None);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
            return 101;
        }
        catch (WebSocketException)
        {
            return (int)socket.HttpStatusCode;
        }
    }

    /// <summary>The origin a CORS preflight for a send is allowed, or null when it is not.</summary>
    private async Task<string?> Preflight(string origin)
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, "/api/message/send");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "content-type,x-user-id,idempotency-key");
        using var response = await fixture.Host.Http.SendAsync(request);
        return response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) ? values.Single() : null;
    }
}
