using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Im.Contracts;
using Im.TestSupport;

namespace Im.End2End.Tests;

/// <summary>
/// A send carrying a <c>client_msg_id</c> (body field, <c>Idempotency-Key</c> header, or frame
/// field) is stored once, pushed once and forwarded to the AI at most once, however often and
/// wherever it is retried; the same id with other content is 409.
/// </summary>
[Collection(EndToEnd.Name)]
public sealed class IdempotencySpecs(E2EFixture fixture)
{
    [Fact]
    public async Task Should_store_a_repeated_rest_send_once_and_answer_it_with_the_first_message()
    {
        var (_, patient, group) = await fixture.Api.CreateConsultation();
        var content = "头疼三天了 " + Guid.NewGuid();

        var first = await Send(fixture.Host, patient.UserId, new { group_id = group.GroupId, content, client_msg_id = "c-1" });
        var again = await Send(fixture.Host, patient.UserId, new { group_id = group.GroupId, content, client_msg_id = "c-1" });
        var viaHeader = await Send(fixture.Host, patient.UserId, new { group_id = group.GroupId, content }, idempotencyKey: "c-1");

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(first.Body!.ToJsonString(), again.Body!.ToJsonString());
        Assert.Equal(first.Body.ToJsonString(), viaHeader.Body!.ToJsonString());
        Assert.Single(await fixture.Api.History(group.GroupId), m => m.MsgContent == content);
        // One AI record: the repeats opened none, so no second AI call can exist.
        Assert.Equal(1, (await fixture.Api.ListAiInteractions(group.GroupId)).Total);
    }

    [Fact]
    public async Task Should_refuse_an_id_reused_for_other_content_and_keep_ids_per_sender()
    {
        var (doctor, patient, group) = await fixture.Api.CreateConsultation();
        var first = await Send(fixture.Host, doctor.UserId, new { group_id = group.GroupId, content = "请按时吃药", client_msg_id = "same" });

        var conflict = await Send(fixture.Host, doctor.UserId, new { group_id = group.GroupId, content = "别的内容", client_msg_id = "same" });
        var differing = await Send(fixture.Host, doctor.UserId, new { group_id = group.GroupId, content = "x", client_msg_id = "a" }, idempotencyKey: "b");
        var otherSender = await Send(fixture.Host, patient.UserId, new { group_id = group.GroupId, content = "请按时吃药", client_msg_id = "same" });

        Assert.Equal((HttpStatusCode.Conflict, ErrorCodes.IdempotencyConflict), (conflict.Status, Code(conflict.Body)));
        Assert.Equal((HttpStatusCode.BadRequest, ErrorCodes.InvalidParameter), (differing.Status, Code(differing.Body)));
        Assert.Equal(HttpStatusCode.OK, otherSender.Status);
        Assert.NotEqual((string?)first.Body!["message_id"], (string?)otherSender.Body!["message_id"]);
        Assert.Equal(2, (await fixture.Api.History(group.GroupId)).Count(m => m.MsgType == MessageTypes.Text));
    }

    [Fact]
    public async Task Should_answer_a_repeated_socket_send_on_that_connection_only()
    {
        var (doctor, patient, group) = await fixture.Api.CreateConsultation();
        await using var sender = await fixture.Connect(doctor.UserId);
        await using var senderElsewhere = await fixture.Connect(doctor.UserId);
        await using var member = await fixture.Connect(patient.UserId);
        var frame = new { type = FrameTypes.SendMessage, group_id = group.GroupId, content = "记得复查", client_msg_id = "ws-once" };

        await sender.SendJson(frame);
        var pushed = await sender.NextOfType(FrameTypes.MessageSent);
        await sender.SendJson(frame);
        var replayed = await sender.NextOfType(FrameTypes.MessageSent);

        Assert.Equal(pushed.ToJsonString(), replayed.ToJsonString());
        Assert.Equal("ws-once", (string?)replayed["client_msg_id"]);
        // A REST retry of the same send is the same message too.
        var viaRest = await Send(fixture.Host, doctor.UserId, new { group_id = group.GroupId, content = "记得复查", client_msg_id = "ws-once" });
        Assert.Equal((string?)pushed["message_id"], (string?)viaRest.Body!["message_id"]);
        // The other connections saw it once: the next push they get is the one sent after it.
        await fixture.Api.SendMessage(doctor.UserId, group.GroupId, "barrier");
        foreach (var other in new[] { senderElsewhere, member })
        {
            Assert.Equal((string?)pushed["message_id"], (string?)(await other.NextOfType(FrameTypes.MessageSent))["message_id"]);
            Assert.Equal("barrier", (string?)(await other.NextOfType(FrameTypes.MessageSent))["content"]);
        }
        Assert.Equal(2, (await fixture.Api.History(group.GroupId)).Count);
    }

    [Fact]
    public async Task Should_give_back_the_stored_message_when_a_send_that_answered_503_is_retried()
    {
        await using var redis = await RedisServer.Start();
        await using var host = await HostProcess.Start(new Dictionary<string, string>
        {
            ["ConnectionStrings__Redis"] = redis.ConnectionString,
            ["Im__AskTimeoutSeconds"] = "1",
        });
        // A 1 s ask timeout is tight for a host that has just started on a busy machine: set up with retries.
        (UserResponse Doctor, UserResponse Patient, GroupResponse Group)? consultation = null;
        await Eventually.True(async () =>
        {
            try
            {
                consultation = await host.Api.CreateConsultation();
                return true;
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30), "a consultation created");
        var (_, patient, group) = consultation!.Value;
        var send = new { group_id = group.GroupId, content = "网络不好，重发一次", client_msg_id = "retry-after-503" };
        await using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        // Redis holds every command for 3 s: the send times out at 1 s, then its write completes.
        await admin.GetDatabase().ExecuteAsync("CLIENT", "PAUSE", "3000", "ALL");

        var timedOut = await Send(host, patient.UserId, send);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, timedOut.Status);

        (HttpStatusCode Status, JsonNode? Body) retried = default;
        await Eventually.True(async () =>
        {
            retried = await Send(host, patient.UserId, send);
            return retried.Status == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(30), "a retry answered");
        var stored = Assert.Single(await host.Api.History(group.GroupId), m => m.MsgType == MessageTypes.Text);
        Assert.Equal(stored.MessageId, (string?)retried.Body!["message_id"]);
        Assert.Equal(1L, stored.Seq);
        Assert.Equal(1, (await host.Api.ListAiInteractions(group.GroupId)).Total);
    }

    [Fact]
    public async Task Should_answer_a_retry_sent_to_another_node_with_the_same_message()
    {
        await using var cluster = await LocalCluster.Start(2);
        var (first, second) = (cluster.Nodes[0], cluster.Nodes[1]);
        var (_, patient, group) = await first.Api.CreateConsultation();
        var send = new { group_id = group.GroupId, content = "换了个节点重试", client_msg_id = "cross-node" };

        var original = await Send(first, patient.UserId, send);
        var retry = await Send(second, patient.UserId, send);

        Assert.Equal(HttpStatusCode.OK, retry.Status);
        Assert.Equal(original.Body!.ToJsonString(), retry.Body!.ToJsonString());
        Assert.Single(await second.Api.History(group.GroupId), m => m.MsgType == MessageTypes.Text);
        Assert.Equal(1, (await second.Api.ListAiInteractions(group.GroupId)).Total);
    }

    private static string? Code(JsonNode? body) => (string?)body?["error"]?["code"];

    private static async Task<(HttpStatusCode Status, JsonNode? Body)> Send(HostProcess host, string sender, object body,
        string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/message/send")
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-User-Id", sender);
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        using var response = await host.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }
}
