using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Im.Contracts;
using Im.TestSupport;

namespace Im.End2End.Tests;

/// <summary>Several host processes in one Akka.NET cluster sharing a real redis-server (issue 3).</summary>
[Collection(EndToEnd.Name)]
public sealed class ClusterSpecs
{
    private static readonly TimeSpan PushWait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Should_deliver_across_nodes_in_seq_order_with_ai_replies()
    {
        await using var cluster = await LocalCluster.Start(3);
        var (a, b, c) = (cluster.Nodes[0], cluster.Nodes[1], cluster.Nodes[2]);
        var (doctor, patient, group) = await b.Api.CreateConsultation();

        // Every endpoint answers the same on every node.
        foreach (var node in cluster.Nodes)
        {
            Assert.Equal(2, (int)(await node.Api.Get($"/api/group/{group.GroupId}/members")).Body!["total"]!);
            Assert.Equal(HttpStatusCode.OK, (await node.Api.Get($"/api/user/{patient.UserId}")).Status);
        }

        await using var doctorOnA = await WsClient.Connect(a.BaseAddress, doctor.UserId);
        await using var patientOnC = await WsClient.Connect(c.BaseAddress, patient.UserId);

        var viaB = await b.Api.SendMessage(patient.UserId, group.GroupId, "sent through B");
        await patientOnC.SendJson(new { type = "send_message", group_id = group.GroupId, content = "sent through C's socket" });

        // The stored messages' frames; the AI replies' states and pieces come between them.
        var seen = new List<JsonNode>();
        while (seen.Count < 4)
        {
            var frame = await doctorOnA.Next(PushWait);
            if (frame["seq"] is not null) seen.Add(frame);
        }
        Assert.Equal([1L, 2L, 3L, 4L], seen.Select(f => (long)f["seq"]!).Order());
        Assert.Equal(seen.Select(f => (long)f["seq"]!).Order(), seen.Select(f => (long)f["seq"]!));
        Assert.Contains(seen, f => (string?)f["message_id"] == viaB.MessageId && (string?)f["type"] == FrameTypes.MessageSent);
        Assert.Equal(2, seen.Count(f => (string?)f["type"] == FrameTypes.AiReply));

        var history = await a.Api.History(group.GroupId);
        Assert.Equal(seen.Select(f => (string?)f["message_id"]), history.Select(m => (string?)m.MessageId));
    }

    [Fact]
    public async Task Should_keep_one_order_with_senders_on_every_node()
    {
        await using var cluster = await LocalCluster.Start(3);
        var api = cluster.Nodes[0].Api;
        var owner = await api.CreateUser(UserRoles.Doctor);
        var group = await api.CreateGroup(owner.UserId);
        var senders = new List<UserResponse>();
        for (var i = 0; i < 12; i++)
        {
            var user = await api.CreateUser(UserRoles.Doctor);
            await api.AddMember(group.GroupId, user.UserId, UserRoles.Doctor);
            senders.Add(user);
        }
        var watchers = new List<WsClient>();
        foreach (var node in cluster.Nodes) watchers.Add(await WsClient.Connect(node.BaseAddress, owner.UserId));
        try
        {
            const int each = 5;
            await Task.WhenAll(senders.Select(async (sender, i) =>
            {
                var node = cluster.Nodes[i % cluster.Nodes.Count];
                for (var n = 0; n < each; n++) await node.Api.SendMessage(sender.UserId, group.GroupId, $"{i}-{n}");
            }));

            var total = senders.Count * each;
            var orders = new List<List<string>>();
            foreach (var watcher in watchers)
            {
                var order = new List<string>();
                while (order.Count < total) order.Add((string)(await watcher.NextOfType(FrameTypes.MessageSent, PushWait))["message_id"]!);
                orders.Add(order);
            }
            var history = await api.History(group.GroupId);
            Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), history.Select(m => m.Seq));
            Assert.True(history.Zip(history.Skip(1)).All(p => p.First.Id < p.Second.Id), "id strictly increases");
            foreach (var order in orders) Assert.Equal(history.Select(m => m.MessageId), order);
        }
        finally
        {
            foreach (var watcher in watchers) await watcher.DisposeAsync();
        }
    }

    [Fact]
    public async Task Should_hand_over_groups_when_a_node_leaves_gracefully_under_traffic()
    {
        await using var cluster = await LocalCluster.Start(2);
        var (stays, leaves) = (cluster.Nodes[0], cluster.Nodes[1]);
        var groups = await Groups(stays.Api, 6);
        await using var socketOnLeaving = await WsClient.Connect(leaves.BaseAddress, groups[0].Doctor.UserId);
        await using var traffic = Traffic.Start(stays.Api, groups, retryFor: TimeSpan.FromSeconds(10));
        await traffic.WaitForAcknowledged(20);

        var stopping = leaves.Stop();
        // Its clients are told to go elsewhere (1001) as soon as the node starts shutting down.
        await socketOnLeaving.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.EndpointUnavailable, socketOnLeaving.CloseStatus);
        await stopping;
        var acknowledgedAtLeave = traffic.Acknowledged.Count;
        await traffic.WaitForAcknowledged(acknowledgedAtLeave + 30);
        await traffic.StopAsync();

        Assert.Empty(traffic.Failures);
        await AssertNoneLost(stays.Api, traffic.Acknowledged);
    }

    [Theory]
    [InlineData(2, 0)] // two nodes, the oldest dies: the younger must stay up
    [InlineData(2, 1)] // two nodes, the younger dies
    [InlineData(3, 0)] // three nodes, the oldest (the shard coordinators' home) dies
    [InlineData(3, 2)] // three nodes, the youngest dies
    public async Task Should_serve_a_dead_nodes_groups_and_lose_nothing_acknowledged(int nodes, int victim)
    {
        await using var ai = await StandInAiServer.Start();
        await using var cluster = await LocalCluster.Start(nodes, new Dictionary<string, string>
        {
            ["Im__AskTimeoutSeconds"] = "3",
            ["Ai__Endpoint"] = ai.Url,
        });
        var (dead, survivor) = (cluster.Nodes[victim], cluster.Nodes[(victim + 1) % nodes]);
        var groups = await Groups(survivor.Api, 6);
        var (doctor, _, watched) = groups[0];
        // AI calls in flight when the node dies: the stand-in takes 8 s to answer these.
        foreach (var (_, patient, group) in groups)
            await survivor.Api.SendMessage(patient.UserId, group.GroupId, "a slow question #slow");
        await using var socketOnDead = await WsClient.Connect(dead.BaseAddress, doctor.UserId);
        await using var traffic = Traffic.Start(survivor.Api, groups, retryFor: TimeSpan.FromSeconds(30));
        await traffic.WaitForAcknowledged(20);

        var lastSeen = 0L;
        while (lastSeen == 0) lastSeen = (long)(await socketOnDead.NextOfType(FrameTypes.MessageSent, PushWait))["seq"]!;
        await dead.Kill();
        var acknowledgedAtKill = traffic.Acknowledged.Count;
        await traffic.WaitForAcknowledged(acknowledgedAtKill + 30, TimeSpan.FromSeconds(60));
        await traffic.StopAsync();
        Assert.Empty(traffic.Failures);

        // Every group, including those whose entity lived on the dead node, takes writes again.
        foreach (var (owner, _, group) in groups)
            await survivor.Api.SendMessage(owner.UserId, group.GroupId, "after the crash");
        await AssertNoneLost(survivor.Api, traffic.Acknowledged);

        // No AI record stays open: those whose call died with the node are closed as interrupted.
        var states = "";
        await Eventually.True(async () =>
        {
            var records = new List<AiInteractionResponse>();
            foreach (var (_, _, group) in groups) records.AddRange((await survivor.Api.ListAiInteractions(group.GroupId)).Records);
            states = string.Join(", ", records.Select(r => $"{r.Status} {r.ErrorMessage}"));
            return records.Count == groups.Count && records.All(r =>
                r.Status == AiRecordStatus.Succeeded || (r.Status == AiRecordStatus.Failed && r.ErrorMessage == "4001: interrupted"));
        }, TimeSpan.FromSeconds(30), "every AI record closed").ContinueWith(t =>
        {
            if (t.IsFaulted) throw new TimeoutException($"AI records not all closed: {states}", t.Exception);
        });

        // The client of the dead node reconnects elsewhere and fetches exactly what it missed.
        await using var reconnected = await WsClient.Connect(survivor.BaseAddress, doctor.UserId);
        var (_, missed) = await survivor.Api.Get($"/api/message/list?group_id={watched.GroupId}&after_seq={lastSeen}&page_size=100");
        var missedSeqs = missed!["messages"]!.AsArray().Select(m => (long)m!["seq"]!).ToList();
        var total = (long)missed["total"]!;
        Assert.True(total > lastSeen, "traffic went on after the last push the client saw");
        Assert.Equal(Enumerable.Range((int)lastSeen + 1, (int)Math.Min(100, total - lastSeen)).Select(i => (long)i), missedSeqs);
        var next = await survivor.Api.SendMessage(doctor.UserId, watched.GroupId, "you are back");
        Assert.Equal(next.MessageId, (string?)(await reconnected.NextOfType(FrameTypes.MessageSent, PushWait))["message_id"]);
    }

    [Fact]
    public async Task Should_resume_pushes_on_every_node_after_redis_restarts()
    {
        await using var cluster = await LocalCluster.Start(2);
        var (a, b) = (cluster.Nodes[0], cluster.Nodes[1]);
        var (doctor, patient, group) = await b.Api.CreateConsultation();
        await using var doctorOnA = await WsClient.Connect(a.BaseAddress, doctor.UserId);
        await using var patientOnB = await WsClient.Connect(b.BaseAddress, patient.UserId);
        var before = await b.Api.SendMessage(doctor.UserId, group.GroupId, "before");
        foreach (var socket in new[] { doctorOnA, patientOnB })
            Assert.Equal(before.MessageId, (string?)(await socket.NextOfType(FrameTypes.MessageSent, PushWait))["message_id"]);

        await cluster.Redis.Stop();
        await cluster.Redis.Launch();

        // Pub/sub drops what is published while a node is not subscribed: keep sending, as a
        // client would keep talking, until one message reaches the sockets on both nodes.
        var sent = new List<MessageResponse>();
        await Eventually.True(async () =>
        {
            var (status, body) = await a.Api.Post("/api/message/send", new { group_id = group.GroupId, content = "after" }, doctor.UserId);
            if (status != HttpStatusCode.OK) return false;
            sent.Add(body.Deserialize<MessageResponse>(ImJson.Options)!);
            return await Receives(doctorOnA, sent[^1]) & await Receives(patientOnB, sent[^1]);
        }, TimeSpan.FromSeconds(45), "a push reaching both nodes after Redis restarted");

        var history = await a.Api.History(group.GroupId);
        Assert.Equal(Enumerable.Range(1, history.Count).Select(i => (long)i), history.Select(m => m.Seq));
        Assert.All(sent, m => Assert.Contains(history, h => h.MessageId == m.MessageId && h.Seq == m.Seq));
    }

    private static async Task<bool> Receives(WsClient socket, MessageResponse message)
    {
        try
        {
            while (true)
            {
                var frame = await socket.NextOfType(FrameTypes.MessageSent, TimeSpan.FromSeconds(2));
                if ((string?)frame["message_id"] == message.MessageId) return true;
            }
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private static async Task<List<(UserResponse Doctor, UserResponse Patient, GroupResponse Group)>> Groups(ImApi api, int count)
    {
        var groups = new List<(UserResponse, UserResponse, GroupResponse)>();
        for (var i = 0; i < count; i++) groups.Add(await api.CreateConsultation());
        return groups;
    }

    private static async Task AssertNoneLost(ImApi api, IEnumerable<MessageResponse> acknowledged)
    {
        foreach (var byGroup in acknowledged.GroupBy(m => m.GroupId))
        {
            var history = await api.History(byGroup.Key);
            var stored = history.Select(m => m.MessageId).ToHashSet();
            Assert.All(byGroup, m => Assert.Contains(m.MessageId, stored));
            Assert.Equal(Enumerable.Range(1, history.Count).Select(i => (long)i), history.Select(m => m.Seq));
        }
    }
}

/// <summary>
/// Doctors sending round-robin into groups through one node, as a client would: a 503 is retried
/// until <c>retryFor</c> has passed, anything else or a longer outage is a failure.
/// </summary>
internal sealed class Traffic : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public ConcurrentQueue<MessageResponse> Acknowledged { get; } = new();
    public ConcurrentQueue<string> Failures { get; } = new();

    public static Traffic Start(ImApi api, IReadOnlyList<(UserResponse Doctor, UserResponse Patient, GroupResponse Group)> groups, TimeSpan retryFor)
    {
        var traffic = new Traffic();
        traffic._loop = Task.WhenAll(groups.Select(g => traffic.Send(api, g.Doctor.UserId, g.Group.GroupId, retryFor)));
        return traffic;
    }

    private async Task Send(ImApi api, string sender, string groupId, TimeSpan retryFor)
    {
        for (var n = 0; !_stop.IsCancellationRequested && n < 10_000; n++)
        {
            var firstTry = DateTime.UtcNow;
            while (true)
            {
                HttpStatusCode status;
                JsonNode? body;
                try
                {
                    (status, body) = await api.Post("/api/message/send", new { group_id = groupId, content = $"traffic {n}" }, sender);
                }
                catch (HttpRequestException ex)
                {
                    (status, body) = (HttpStatusCode.ServiceUnavailable, JsonValue.Create(ex.Message));
                }
                if (status == HttpStatusCode.OK)
                {
                    Acknowledged.Enqueue(body.Deserialize<MessageResponse>(ImJson.Options)!);
                    break;
                }
                if (status != HttpStatusCode.ServiceUnavailable || DateTime.UtcNow - firstTry > retryFor)
                {
                    Failures.Enqueue($"{groupId}: {(int)status} {body?.ToJsonString()} after {(DateTime.UtcNow - firstTry).TotalSeconds:F1} s");
                    return;
                }
                await Task.Delay(200);
            }
        }
    }

    public Task WaitForAcknowledged(int count, TimeSpan? within = null) =>
        Eventually.True(() => Acknowledged.Count >= count || !Failures.IsEmpty, within ?? TimeSpan.FromSeconds(45),
            $"{count} acknowledged sends");

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _loop;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }
}
