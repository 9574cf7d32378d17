using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Im.Contracts;
using Im.TestSupport;

namespace Im.End2End.Tests;

/// <summary>
/// <c>/metrics</c> and <c>/api/ops/*</c> on a Jwt-mode host with <c>Ops__Token</c> set, which never
/// joins a cluster (its only seed is a node nobody runs): the ops endpoints must work then too.
/// </summary>
[Collection(EndToEnd.Name)]
public sealed class OpsAccessSpecs(OpsAccessSpecs.UnreadyJwtHost fixture) : IClassFixture<OpsAccessSpecs.UnreadyJwtHost>
{
    private const string Key = "a-test-signing-key-of-at-least-32-bytes!";
    private const string OpsToken = "ops-token-for-the-specs-0123456789";
    private static readonly string[] OpsPaths = ["/metrics", "/api/ops/cluster"];

    private HostProcess Host => fixture.Host;

    private async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> Get(string path, string? bearer = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (bearer is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        var response = await Host.Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    private static void IsError(string code, string body) => Assert.Equal(code, (string?)JsonNode.Parse(body)!["error"]!["code"]);

    [Fact]
    public async Task Should_let_in_the_ops_token_or_an_admin_token_and_refuse_others_with_401_or_403()
    {
        foreach (var path in OpsPaths)
        {
            // Loopback is no pass once a token is set.
            var (status, body, response) = await Get(path);
            Assert.Equal(HttpStatusCode.Unauthorized, status);
            IsError(ErrorCodes.Unauthorized, body);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);

            foreach (var bad in new[] { OpsToken + "x", OpsToken[..^1], Jwt.Mint("another-key-another-key-another-key!!", "root", admin: true), Jwt.Unsigned("root") })
            {
                (status, body, _) = await Get(path, bad);
                Assert.Equal(HttpStatusCode.Unauthorized, status);
                IsError(ErrorCodes.Unauthorized, body);
            }

            // A valid token of a user (known or not, it is no operator) is refused, not challenged.
            (status, body, _) = await Get(path, Jwt.Mint(Key, "user_20250101000000_abcdefgh"));
            Assert.Equal(HttpStatusCode.Forbidden, status);
            IsError(ErrorCodes.Forbidden, body);

            Assert.Equal(HttpStatusCode.OK, (await Get(path, OpsToken)).Status);
            Assert.Equal(HttpStatusCode.OK, (await Get(path, Jwt.Mint(Key, "root", admin: true))).Status);
        }
    }

    [Fact]
    public async Task Should_describe_a_node_that_is_not_ready_yet()
    {
        var (info, _, _) = await Get("/api/info");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, info);

        var (status, body, _) = await Get("/api/ops/cluster", OpsToken);
        Assert.Equal(HttpStatusCode.OK, status);
        var cluster = JsonNode.Parse(body)!.AsObject();
        Assert.Equal(["auth_mode", "members", "self", "store"], cluster.Select(p => p.Key).Order());
        Assert.Equal("jwt", (string?)cluster["auth_mode"]);
        Assert.StartsWith("akka.tcp://im@127.0.0.1:", (string?)cluster["self"]);
        var store = cluster["store"]!.AsObject();
        Assert.Equal(["kind", "latency_ms", "reachable"], store.Select(p => p.Key).Order());
        Assert.Equal(("embedded", true), ((string?)store["kind"], (bool)store["reachable"]!));
        Assert.True((double)store["latency_ms"]! >= 0);
        // Not joined, so not a member of anything yet.
        Assert.Empty(cluster["members"]!.AsArray());

        using var ready = await Host.Http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var health = JsonNode.Parse(await ready.Content.ReadAsStringAsync())!;
        Assert.Equal("Unhealthy", (string?)health["status"]);
        Assert.Equal("Unhealthy", (string?)health["checks"]!["shard-regions"]!["status"]);
        Assert.Equal("Healthy", (string?)health["checks"]!["redis"]!["status"]);
        using var live = await Host.Http.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("Healthy", (string?)JsonNode.Parse(await live.Content.ReadAsStringAsync())!["status"]);
    }

    public sealed class UnreadyJwtHost : IAsyncLifetime
    {
        public HostProcess Host { get; private set; } = null!;

        public async Task InitializeAsync() => Host = await HostProcess.Start(new Dictionary<string, string>
        {
            ["Auth__Mode"] = "Jwt",
            ["Auth__JwtKey"] = Key,
            ["Ops__Token"] = OpsToken,
            ["Akka__SeedNodes__0"] = $"akka.tcp://im@127.0.0.1:{Ports.FreeLoopbackPort()}",
        }, readyPath: "/health/live");

        public async Task DisposeAsync() => await Host.DisposeAsync();
    }
}
