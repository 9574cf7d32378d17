using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Im.Contracts;
using Im.TestSupport;
using Xunit.Abstractions;

namespace Im.End2End.Tests;

/// <summary>
/// <c>/api/ops/cluster</c> on three real nodes sharing a redis-server: each member's figures come
/// from that member, and a member killed with -9 shows unreachable and then leaves. One cluster for
/// everything, since starting one is most of the cost.
/// </summary>
[Collection(EndToEnd.Name)]
public sealed class OpsClusterSpecs(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static async Task<JsonObject> Ops(HostProcess node)
    {
        using var response = await node.Http.GetAsync("/api/ops/cluster");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    private static string Address(JsonNode cluster) => (string)cluster["self"]!;

    private static JsonObject Member(JsonObject cluster, string address) =>
        cluster["members"]!.AsArray().Single(m => (string?)m!["address"] == address)!.AsObject();

    private static int? Figure(JsonObject member, string name) => (int?)member[name];

    /// <summary>Polls a node's ops JSON until it satisfies the condition; the last answer is returned.</summary>
    private static async Task<JsonObject> OpsUntil(HostProcess node, Func<JsonObject, bool> condition, TimeSpan timeout, string what)
    {
        JsonObject? last = null;
        await Eventually.True(async () => condition(last = await Ops(node)), timeout, what);
        return last!;
    }

    [Fact]
    public async Task Should_show_each_members_own_figures_then_a_killed_member_unreachable_then_gone()
    {
        await using var cluster = await LocalCluster.Start(3);
        var (oldest, second, victim) = (cluster.Nodes[0], cluster.Nodes[1], cluster.Nodes[2]);
        var addresses = new List<string>();
        foreach (var node in cluster.Nodes) addresses.Add(Address(await Ops(node)));

        // Groups and users made through every node, so that shards are allocated across the members.
        var groups = 0;
        for (var i = 0; i < 12; i++)
        {
            var doctor = await cluster.Nodes[i % 3].Api.CreateUser(UserRoles.Doctor);
            await cluster.Nodes[(i + 1) % 3].Api.CreateGroup(doctor.UserId, $"g{i}");
            groups++;
        }
        var watcher = await oldest.Api.CreateUser(UserRoles.Patient);
        await using var socketOnVictim = await WsClient.Connect(victim.BaseAddress, watcher.UserId);

        var view = await OpsUntil(oldest, c =>
            c["members"]!.AsArray().Count == 3
            && c["members"]!.AsArray().All(m => (string?)m!["status"] == "Up" && Figure(m.AsObject(), "sessions") is not null)
            && Figure(Member(c, addresses[2]), "sessions") == 1,
            Wait, "three Up members, each with its figures, the socket counted on the third");
        output.WriteLine(view.ToJsonString());

        Assert.Equal(addresses[0], Address(view));
        Assert.Equal(("header", "redis", true), ((string?)view["auth_mode"], (string?)view["store"]!["kind"], (bool)view["store"]!["reachable"]!));
        Assert.Equal(addresses.Order(), view["members"]!.AsArray().Select(m => (string)m!["address"]!).Order());
        var members = addresses.Select(a => Member(view, a)).ToList();
        Assert.Equal([true, false, false], members.Select(m => (bool)m["is_self"]!));
        Assert.All(members, m => Assert.True((bool)m["reachable"]!));
        // Only the node that holds the socket counts it: figures come from each member, not from the one asked.
        Assert.Equal([0, 0, 1], members.Select(m => Figure(m, "sessions")));
        Assert.Equal(3, members.Select(m => Figure(m, "up_number")).Distinct().Count());
        // The first node started first: the oldest member, the lowest up number.
        Assert.Equal(members.Min(m => Figure(m, "up_number")), Figure(members[0], "up_number"));
        Assert.All(members, m => Assert.Equal(("closed", 0, 0), ((string?)m["ai_breaker"], Figure(m, "ai_in_flight"), Figure(m, "ai_queued"))));
        Assert.Equal(groups, members.Sum(m => Figure(m, "group_entities")));
        Assert.True(members.Count(m => Figure(m, "group_entities") > 0) >= 2, "the groups' shards are spread over the members");
        Assert.True(members.Sum(m => Figure(m, "group_shards")) >= members.Count(m => Figure(m, "group_entities") > 0));
        Assert.True(members.Sum(m => Figure(m, "user_entities")) >= groups + 1);

        // Any member answers the same figures for the others.
        var fromVictim = await Ops(victim);
        Assert.True((bool)Member(fromVictim, addresses[2])["is_self"]!);
        Assert.Equal(1, Figure(Member(fromVictim, addresses[2]), "sessions"));

        var killed = Stopwatch.StartNew();
        await victim.Kill();
        var unreachable = await OpsUntil(oldest, c => c["members"]!.AsArray().Any(m =>
            (string?)m!["address"] == addresses[2] && !(bool)m["reachable"]!), Wait, "the killed member shown unreachable");
        var dead = Member(unreachable, addresses[2]);
        Assert.All(new[] { "group_shards", "group_entities", "user_entities", "sessions", "ai_in_flight", "ai_queued" },
            name => Assert.Null(Figure(dead, name)));
        Assert.Null((string?)dead["ai_breaker"]);
        output.WriteLine($"unreachable after {killed.Elapsed.TotalSeconds:F1} s");

        // Downed by the split-brain resolver and removed: gone from the members.
        var after = await OpsUntil(oldest, c => c["members"]!.AsArray().Count == 2, TimeSpan.FromSeconds(40), "the killed member removed");
        output.WriteLine($"removed after {killed.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(addresses.Take(2).Order(), after["members"]!.AsArray().Select(m => (string)m!["address"]!).Order());
        await OpsUntil(second, c => c["members"]!.AsArray().Count == 2, Wait, "the other survivor agreeing");
    }
}
