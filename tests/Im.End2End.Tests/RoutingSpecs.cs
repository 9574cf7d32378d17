using System.Text.Json.Nodes;
using Im.Contracts;
using Im.TestSupport;

namespace Im.End2End.Tests;

/// <summary>
/// Each node reads the events of its own sockets' groups (issue 14), in a two-node cluster on one
/// redis-server: a user with sockets on both nodes, a group whose members sit on different nodes,
/// sockets opening and closing on a node while the group sends, and a kill -9 of a node seen in the
/// survivor's connection registry.
/// </summary>
[Collection(EndToEnd.Name)]
public sealed class RoutingSpecs
{
    private static readonly TimeSpan PushWait = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Bound on a crashed node's entries in the survivors' view: the cluster removes it about 15 s after
    /// the kill (failure detection and the split-brain resolver), and the registry clears it then.
    /// </summary>
    private static readonly TimeSpan GoneWithin = TimeSpan.FromSeconds(40);

    [Fact]
    public async Task Should_route_every_push_to_the_nodes_of_its_sockets_and_forget_a_killed_node()
    {
        await using var cluster = await LocalCluster.Start(2);
        var (a, b) = (cluster.Nodes[0], cluster.Nodes[1]);
        var doctor = await a.Api.CreateUser(UserRoles.Doctor);
        var colleague = await a.Api.CreateUser(UserRoles.Doctor);
        var onlyOnB = await a.Api.CreateUser(UserRoles.Doctor);
        var group = await a.Api.CreateGroup(doctor.UserId);
        await a.Api.AddMember(group.GroupId, colleague.UserId, UserRoles.Doctor);
        await a.Api.AddMember(group.GroupId, onlyOnB.UserId, UserRoles.Doctor);
        // A second group whose only member with sockets on B is the one whose sockets come and go there:
        // B starts and stops reading its channel with each of them.
        var churner = await a.Api.CreateUser(UserRoles.Doctor);
        var busy = await a.Api.CreateGroup(colleague.UserId, "busy");
        await a.Api.AddMember(busy.GroupId, churner.UserId, UserRoles.Doctor);

        await using var doctorOnA = await WsClient.Connect(a.BaseAddress, doctor.UserId);
        await using var doctorOnB = await WsClient.Connect(b.BaseAddress, doctor.UserId);
        await using var colleagueOnA = await WsClient.Connect(a.BaseAddress, colleague.UserId);
        await using var onlyOnBSocket = await WsClient.Connect(b.BaseAddress, onlyOnB.UserId);

        // The registry, read on either node, knows both of the doctor's devices.
        foreach (var node in cluster.Nodes)
            await Eventually.True(async () => Devices(await Connections(node, doctor.UserId)) == (2, 2), PushWait,
                "the doctor's two devices on two nodes");

        // Both groups send through both nodes while the churner's sockets open and close on B.
        const int total = 60;
        var sending = Task.Run(async () =>
        {
            for (var i = 1; i <= total; i++)
            {
                var node = cluster.Nodes[i % 2];
                await node.Api.SendMessage(colleague.UserId, group.GroupId, $"m{i}");
                await node.Api.SendMessage(colleague.UserId, busy.GroupId, $"b{i}");
            }
        });
        var churned = new List<List<long>>();
        while (!sending.IsCompleted)
        {
            await using var brief = await WsClient.Connect(b.BaseAddress, churner.UserId);
            var seen = new List<long>();
            while (seen.Count < 3)
            {
                try
                {
                    seen.Add((long)(await brief.NextOfType(FrameTypes.MessageSent, TimeSpan.FromSeconds(2)))["seq"]!);
                }
                catch (TimeoutException) when (sending.IsCompleted)
                {
                    break;
                }
            }
            churned.Add(seen);
        }
        await sending;
        Assert.True(churned.Count > 1, $"only {churned.Count} socket(s) came and went while the groups sent");

        var everySeq = Enumerable.Range(1, total).Select(i => (long)i).ToList();
        foreach (var socket in new[] { doctorOnA, doctorOnB, colleagueOnA, onlyOnBSocket })
            Assert.Equal(everySeq, await Seqs(socket, total, group.GroupId));
        // A socket that opened mid-stream gets one unbroken run of what was stored after it said connected.
        Assert.All(churned.Where(run => run.Count > 0), run => Assert.Equal(Enumerable.Range((int)run[0], run.Count).Select(i => (long)i), run));

        var connectionsOnB = await Connections(a, onlyOnB.UserId);
        var bNode = (string)connectionsOnB["nodes"]![0]!["node"]!;
        await b.Kill();

        // The survivor forgets the dead node's sockets, and the registry lists only live nodes.
        await Eventually.True(async () => Devices(await Connections(a, onlyOnB.UserId)) == (0, 0), GoneWithin,
            "the killed node's only socket gone from the survivor's view");
        var doctorNow = await Connections(a, doctor.UserId);
        Assert.Equal((1, 1), Devices(doctorNow));
        Assert.NotEqual(bNode, (string)doctorNow["nodes"]![0]!["node"]!);

        // The survivor still delivers to its own sockets. The group's writer may have been on the dead node and be
        // moving still: a 503 is retried, as a client does, with the same client_msg_id so it is stored once.
        string? messageId = null;
        await Eventually.True(async () =>
        {
            var (status, body) = await a.Api.Post("/api/message/send",
                new { group_id = group.GroupId, content = "after the kill", client_msg_id = "after-the-kill" }, colleague.UserId);
            messageId = (string?)body?["message_id"];
            return status == System.Net.HttpStatusCode.OK;
        }, PushWait, "a send through the survivor");
        JsonNode pushed;
        do pushed = await doctorOnA.NextOfType(FrameTypes.MessageSent, PushWait);
        while ((string?)pushed["group_id"] != group.GroupId);
        Assert.Equal(messageId, (string?)pushed["message_id"]);
    }

    private static async Task<JsonNode> Connections(HostProcess node, string userId)
    {
        var (status, body) = await node.Api.Get($"/api/ops/connections/{userId}");
        Assert.Equal(System.Net.HttpStatusCode.OK, status);
        return body!;
    }

    private static (int Devices, int Nodes) Devices(JsonNode connections) =>
        ((int)connections["devices"]!, connections["nodes"]!.AsArray().Count);

    /// <summary>The next <paramref name="count"/> messages' <c>seq</c> of one group; the other group's are passed over.</summary>
    private static async Task<List<long>> Seqs(WsClient socket, int count, string groupId)
    {
        var seqs = new List<long>();
        while (seqs.Count < count)
        {
            var frame = await socket.NextOfType(FrameTypes.MessageSent, PushWait);
            if ((string?)frame["group_id"] == groupId) seqs.Add((long)frame["seq"]!);
        }
        return seqs;
    }
}
