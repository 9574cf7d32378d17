using System.Net;
using System.Text.Json.Nodes;
using Im.Contracts;
using Im.TestSupport;
using static Im.End2End.Tests.FrameLabels;

namespace Im.End2End.Tests;

/// <summary>
/// DESIGN.md, "Per-group AI mode", review: with a patient's and two doctors' sockets open, the AI's
/// answer reaches the doctors as a draft and the patient only as <c>in_review</c>; one doctor's
/// approval (edited) is the one reply everyone gets, the other doctor's comes too late; a rejection
/// tells everyone and a retry drafts again. The patient never receives a draft's text, by any route.
/// </summary>
[Collection(EndToEnd.Name)]
public sealed class AiReviewSpecs(TrickleHost host) : IClassFixture<TrickleHost>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private ImApi Api => host.Host.Api;

    private sealed record Consultation(string Doctor, string OtherDoctor, string Patient, string Group);

    private async Task<Consultation> InReview()
    {
        var (doctor, patient, group) = await Api.CreateConsultation();
        var other = await Api.CreateUser(UserRoles.Doctor, "李医生");
        await Api.AddMember(group.GroupId, other.UserId, UserRoles.Doctor);
        var (status, body) = await Api.SetGroupAi(group.GroupId, """{"mode":"review"}""", other.UserId);
        Assert.True(status == HttpStatusCode.OK, body?.ToJsonString());
        return new Consultation(doctor.UserId, other.UserId, patient.UserId, group.GroupId);
    }

    /// <summary>A socket's frames up to and including the first that <paramref name="last"/> matches.</summary>
    private static async Task<List<JsonNode>> Until(WsClient socket, Func<JsonNode, bool> last)
    {
        var frames = new List<JsonNode>();
        do frames.Add(await socket.Next(Wait));
        while (!last(frames[^1]));
        return frames;
    }

    private static bool IsState(JsonNode frame, string state) =>
        (string?)frame["type"] == FrameTypes.AiState && (string?)frame["state"] == state;

    [Fact]
    public async Task Should_show_the_draft_to_doctors_only_and_send_the_one_approved_reply_to_everyone()
    {
        var c = await InReview();
        await using var patientSocket = await WsClient.Connect(host.Host.BaseAddress, c.Patient);
        await using var doctorSocket = await WsClient.Connect(host.Host.BaseAddress, c.Doctor);
        await using var otherSocket = await WsClient.Connect(host.Host.BaseAddress, c.OtherDoctor);
        var question = $"is this rash serious {Guid.NewGuid():N}";
        var draftText = "AI: " + question;

        var asked = await Api.SendMessage(c.Patient, c.Group, question);

        var patientFrames = await Until(patientSocket, f => IsState(f, AiStates.InReview));
        Assert.Equal(["message_sent", "ai_state thinking", "ai_state in_review"], patientFrames.Select(Label));
        foreach (var socket in new[] { doctorSocket, otherSocket })
        {
            var frames = await Until(socket, f => (string?)f["type"] == FrameTypes.AiDraft);
            Assert.Equal(["message_sent", "ai_state thinking", "ai_state generating"], frames.Take(3).Select(Label));
            Assert.All(frames.Skip(3).SkipLast(1), f => Assert.Equal(FrameTypes.AiDelta, (string?)f["type"]));
            Assert.Equal(draftText, string.Concat(frames.Where(f => (string?)f["type"] == FrameTypes.AiDelta).Select(f => (string?)f["text"])));
            Assert.Equal((draftText, asked.MessageId), ((string?)frames[^1]["content"], (string?)frames[^1]["user_message_id"]));
        }
        var record = Assert.Single((await Api.ListAiInteractions(c.Group)).Records);
        Assert.Equal((AiRecordStatus.Pending, ReviewStates.Pending, AiModes.Review), (record.Status, record.ReviewState, record.AiMode));
        var pending = (await Api.Get($"/api/ai/interactions?group_id={c.Group}&review_state=pending")).Body!;
        Assert.Equal(record.RecordId, (string?)pending["records"]![0]!["record_id"]);

        // The patient cannot read it; a doctor can.
        var (status, body) = await Api.Send(HttpMethod.Get, $"/api/ai/interactions/{record.RecordId}/draft", null, c.Patient);
        Assert.Equal((HttpStatusCode.Forbidden, ErrorCodes.Forbidden), (status, (string?)body!["error"]!["code"]));
        (status, body) = await Api.Send(HttpMethod.Get, $"/api/ai/interactions/{record.RecordId}/draft", null, c.Doctor);
        Assert.Equal((HttpStatusCode.OK, draftText), (status, (string?)body!["content"]));

        // One doctor approves an edit; the other's approval comes second and is refused.
        const string edited = "Keep it dry; if it spreads, come in tomorrow.";
        (status, body) = await Api.Send(HttpMethod.Post, $"/api/ai/interactions/{record.RecordId}/approve", $$"""{"content":"{{edited}}"}""", c.Doctor);
        Assert.Equal((HttpStatusCode.OK, MessageTypes.AiReply, edited), (status, (string?)body!["msg_type"], (string?)body["msg_content"]));
        (status, body) = await Api.Send(HttpMethod.Post, $"/api/ai/interactions/{record.RecordId}/approve", null, c.OtherDoctor);
        Assert.Equal((HttpStatusCode.Conflict, ErrorCodes.InvalidState), (status, (string?)body!["error"]!["code"]));

        foreach (var socket in new[] { patientSocket, doctorSocket, otherSocket })
        {
            var frames = await Until(socket, f => IsState(f, AiStates.Done));
            var reply = Assert.Single(frames, f => (string?)f["type"] == FrameTypes.AiReply);
            Assert.Equal((edited, asked.MessageId), ((string?)reply["content"], (string?)reply["user_message_id"]));
            if (socket == patientSocket) patientFrames.AddRange(frames);
        }
        record = Assert.Single((await Api.ListAiInteractions(c.Group)).Records);
        Assert.Equal((AiRecordStatus.Succeeded, ReviewStates.Approved, c.Doctor, (bool?)true),
            (record.Status, record.ReviewState, record.ReviewedBy, record.Edited));
        Assert.Equal([question, edited], (await Api.History(c.Group)).Select(m => m.MsgContent));

        // Nothing the patient received or can read holds the draft's text.
        var patientReads = new[]
        {
            (await Api.Get($"/api/ai/interactions?group_id={c.Group}")).Body!.ToJsonString(),
            (await Api.Get($"/api/message/list?group_id={c.Group}")).Body!.ToJsonString(),
            string.Concat(patientFrames.Select(f => f.ToJsonString())),
        };
        Assert.All(patientReads, text => Assert.DoesNotContain(draftText, text, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Should_tell_everyone_of_a_rejection_and_draft_again_on_a_retry()
    {
        var c = await InReview();
        await using var patientSocket = await WsClient.Connect(host.Host.BaseAddress, c.Patient);
        await using var doctorSocket = await WsClient.Connect(host.Host.BaseAddress, c.Doctor);
        await Api.SendMessage(c.Patient, c.Group, "should I worry?");
        var draft = (await Until(doctorSocket, f => (string?)f["type"] == FrameTypes.AiDraft))[^1];
        var recordId = (string)draft["record_id"]!;
        await Until(patientSocket, f => IsState(f, AiStates.InReview));

        var (status, body) = await Api.Send(HttpMethod.Post, $"/api/ai/interactions/{recordId}/reject", null, c.OtherDoctor);
        Assert.Equal((HttpStatusCode.OK, "4005: rejected", ReviewStates.Rejected),
            (status, (string?)body!["error_message"], (string?)body["review_state"]));
        foreach (var socket in new[] { patientSocket, doctorSocket })
        {
            var rejected = await socket.NextOfType(FrameTypes.AiState, Wait);
            Assert.Equal((AiStates.Rejected, ErrorCodes.AiRejected), ((string?)rejected["state"], (string?)rejected["code"]));
        }
        // A pending draft is rejected, not stopped; a rejected one cannot be approved.
        (status, body) = await Api.Send(HttpMethod.Post, $"/api/ai/interactions/{recordId}/approve", null, c.Doctor);
        Assert.Equal((HttpStatusCode.Conflict, ErrorCodes.InvalidState), (status, (string?)body!["error"]!["code"]));

        (status, body) = await Api.RetryAiReply(recordId, c.Doctor);
        Assert.Equal((HttpStatusCode.OK, 2), (status, (int)body!["attempts"]!));
        var again = (await Until(doctorSocket, f => (string?)f["type"] == FrameTypes.AiDraft))[^1];
        Assert.Equal(recordId, (string?)again["record_id"]);
        (status, _) = await Api.StopAiReply(recordId, c.Doctor);
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.DoesNotContain(await Api.History(c.Group), m => m.MsgType == MessageTypes.AiReply);
    }
}
