using System.Text.Json.Nodes;
using Im.Contracts;
using Im.TestSupport;
using Xunit.Abstractions;
using static Im.End2End.Tests.FrameLabels;

namespace Im.End2End.Tests;

/// <summary>
/// AI replies streaming when a node dies (DESIGN.md, "Streaming, states, stop, retry"): a call runs on
/// the node of its group's writer, so a kill -9 takes some calls with it; the survivor closes their
/// records as <c>4001: interrupted</c>, the others complete, and no patient message gets two replies.
/// A draft waiting for review outlives its node and is approved once on the survivor.
/// </summary>
[Collection(EndToEnd.Name)]
public sealed class AiClusterSpecs(ITestOutputHelper output)
{
    private const int GroupCount = 10;

    /// <summary>A dead node is downed after about 4 s + 7 s (AkkaSetup); then its groups' writers start on the survivor.</summary>
    private static readonly TimeSpan ClosedWithin = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Should_give_every_streaming_record_one_outcome_and_never_two_replies_when_its_node_is_killed()
    {
        await using var ai = await StandInAiServer.Start();
        await using var cluster = await LocalCluster.Start(2, new Dictionary<string, string> { ["Ai__Endpoint"] = ai.Url });
        var (survivor, dead) = (cluster.Nodes[0], cluster.Nodes[1]);
        var api = survivor.Api;

        var consultations = new List<(UserResponse Doctor, UserResponse Patient, GroupResponse Group)>();
        for (var i = 0; i < GroupCount; i++) consultations.Add(await api.CreateConsultation());
        var sockets = new List<WsClient>();
        try
        {
            foreach (var (doctor, _, _) in consultations) sockets.Add(await WsClient.Connect(survivor.BaseAddress, doctor.UserId));

            // Twenty pieces 250 ms apart: every call streams for 5 s, the kill comes well inside that.
            var marker = Guid.NewGuid().ToString("N");
            string Question(int i) => $"question {i} of {marker}, answered slowly piece by piece #trickle";
            var sent = await Task.WhenAll(consultations.Select((c, i) => api.SendMessage(c.Patient.UserId, c.Group.GroupId, Question(i))));
            await Eventually.True(() => ai.Requests.Count(r => RequestFor(r, marker)) == GroupCount, TimeSpan.FromSeconds(20),
                "every call reaching the AI service");
            var onDead = (await PrometheusText.Scrape(dead)).Value("im_ai_calls_in_flight");
            Assert.True(onDead >= 1, "sharding put no group's writer on the node to be killed: nothing would be interrupted");
            await dead.Kill();
            var killed = DateTime.UtcNow;

            var records = new Dictionary<string, AiInteractionResponse>();
            var states = "";
            try
            {
                await Eventually.True(async () =>
                {
                    foreach (var (_, _, group) in consultations)
                        records[group.GroupId] = Assert.Single((await api.ListAiInteractions(group.GroupId)).Records);
                    states = string.Join(", ", records.Values.Select(r => $"{r.Status} {r.ErrorMessage}"));
                    return records.Values.All(r => r.Status != AiRecordStatus.Pending);
                }, ClosedWithin, "every AI record closed");
            }
            catch (TimeoutException ex)
            {
                throw new TimeoutException($"AI records not all closed: {states}", ex);
            }

            output.WriteLine($"{onDead} call(s) on the killed node; every record closed {(DateTime.UtcNow - killed).TotalSeconds:F1} s after the kill: {states}");
            var interrupted = 0;
            for (var i = 0; i < GroupCount; i++)
            {
                var (_, _, group) = consultations[i];
                var record = records[group.GroupId];
                Assert.Equal(sent[i].MessageId, record.UserMessageId);
                var replies = (await api.History(group.GroupId)).Where(m => m.MsgType == MessageTypes.AiReply).ToList();
                var frames = await UntilFinalState(sockets[i]);
                var end = frames.TakeLast(2).Select(Label).ToList();
                if (record.Status == AiRecordStatus.Succeeded)
                {
                    Assert.Equal((record.AiMessageId, "AI: " + Question(i)), (Assert.Single(replies).MessageId, replies[0].MsgContent));
                    Assert.Equal(["ai_reply", "ai_state done"], end);
                    continue;
                }
                interrupted++;
                Assert.Equal((AiRecordStatus.Failed, "4001: interrupted", (string?)null), (record.Status, record.ErrorMessage, record.AiMessageId));
                Assert.Empty(replies);
                Assert.Equal("ai_state failed 4001", end[^1]);
                Assert.DoesNotContain(frames, f => (string?)f["type"] == FrameTypes.AiReply);
            }
            // Only calls that ran on the dead node were interrupted, and the kill hit at least one.
            Assert.InRange(interrupted, 1, (int)onDead);
        }
        finally
        {
            foreach (var socket in sockets) await socket.DisposeAsync();
        }
    }

    [Fact]
    public async Task Should_keep_a_pending_draft_through_the_death_of_its_node_and_let_it_be_approved_once()
    {
        await using var ai = await StandInAiServer.Start();
        await using var cluster = await LocalCluster.Start(2, new Dictionary<string, string> { ["Ai__Endpoint"] = ai.Url });
        var (survivor, dead) = (cluster.Nodes[0], cluster.Nodes[1]);
        var api = survivor.Api;

        // Several groups, so that some writers live on the node that dies.
        var drafts = new List<(string Doctor, string Group, string RecordId)>();
        for (var i = 0; i < 6; i++)
        {
            var (doctor, patient, group) = await api.CreateConsultation();
            Assert.Equal(System.Net.HttpStatusCode.OK, (await api.SetGroupAi(group.GroupId, """{"mode":"review"}""", doctor.UserId)).Status);
            var asked = await api.SendMessage(patient.UserId, group.GroupId, $"question {i} for review");
            AiInteractionResponse? record = null;
            await Eventually.True(async () =>
                (record = (await api.ListAiInteractions(group.GroupId)).Records.Single(r => r.UserMessageId == asked.MessageId)).ReviewState
                == ReviewStates.Pending, TimeSpan.FromSeconds(20), "the draft to wait for review");
            drafts.Add((doctor.UserId, group.GroupId, record!.RecordId));
        }
        Assert.True((await PrometheusText.Scrape(dead)).Value("im_group_actors") >= 1, "no group's writer on the node to be killed: nothing would move");

        await dead.Kill();

        foreach (var (doctor, group, recordId) in drafts)
        {
            // Requests for the dead node's groups answer 503 until it is downed; then the survivor's writer takes them.
            // A 503 says only that no answer came in time: the shard region may still deliver that approval once
            // the group has moved, and then the doctor's next try finds the draft approved (409), as any client would.
            (System.Net.HttpStatusCode Status, JsonNode? Body) approved = default;
            var unanswered = 0;
            await Eventually.True(async () =>
            {
                approved = await api.Send(HttpMethod.Post, $"/api/ai/interactions/{recordId}/approve", null, doctor);
                if (approved.Status == System.Net.HttpStatusCode.ServiceUnavailable) unanswered++;
                return approved.Status != System.Net.HttpStatusCode.ServiceUnavailable;
            }, ClosedWithin, "the draft's group to answer again");
            Assert.True(approved.Status == System.Net.HttpStatusCode.OK || (approved.Status == System.Net.HttpStatusCode.Conflict && unanswered > 0),
                approved.Body?.ToJsonString());
            var again = await api.Send(HttpMethod.Post, $"/api/ai/interactions/{recordId}/approve", null, doctor);
            Assert.Equal(System.Net.HttpStatusCode.Conflict, again.Status);
            Assert.Single(await api.History(group), m => m.MsgType == MessageTypes.AiReply);
            Assert.Equal(ReviewStates.Approved, Assert.Single((await api.ListAiInteractions(group)).Records).ReviewState);
        }
        output.WriteLine($"{drafts.Count} drafts approved once each after the kill");
    }

    private static bool RequestFor(JsonNode request, string marker) =>
        StandInAiServer.LastText(request).Contains(marker, StringComparison.Ordinal);

    /// <summary>A group's frames up to its reply's final state.</summary>
    private static async Task<List<JsonNode>> UntilFinalState(WsClient socket)
    {
        var frames = new List<JsonNode>();
        do frames.Add(await socket.Next(TimeSpan.FromSeconds(20)));
        while (!((string?)frames[^1]["type"] == FrameTypes.AiState
                 && (string?)frames[^1]["state"] is AiStates.Done or AiStates.Failed or AiStates.Stopped));
        return frames;
    }
}
