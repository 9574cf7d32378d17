using System.Net;
using System.Text.Json.Nodes;
using Im.Contracts;
using Im.TestSupport;

namespace Im.End2End.Tests;

/// <summary>
/// DESIGN.md, "Per-group AI mode", as a doctor and a patient see it over REST and their sockets:
/// a DOCTOR member turns the AI off or pauses it after a doctor's message, every member hears of
/// the change, and a record keeps the mode it was opened under (a <c>#trickle</c> reply is still
/// being written when the mode changes).
/// </summary>
[Collection(EndToEnd.Name)]
public sealed class AiModeSpecs(TrickleHost host) : IClassFixture<TrickleHost>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private ImApi Api => host.Host.Api;

    private int RequestsAbout(string marker) =>
        host.Ai.Requests.Count(r => StandInAiServer.LastText(r).Contains(marker, StringComparison.Ordinal));

    [Fact]
    public async Task Should_turn_the_ai_off_tell_every_member_and_forward_nothing_until_it_is_on_again()
    {
        var (doctor, patient, group) = await Api.CreateConsultation();
        await using var doctorSocket = await WsClient.Connect(host.Host.BaseAddress, doctor.UserId);
        await using var patientSocket = await WsClient.Connect(host.Host.BaseAddress, patient.UserId);

        var (status, body) = await Api.SetGroupAi(group.GroupId, """{"mode":"off"}""", doctor.UserId);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal((group.GroupId, AiModes.Off, 0, doctor.UserId),
            ((string?)body!["group_id"], (string?)body["ai_mode"], (int)body["pause_after_doctor_seconds"]!, (string?)body["updated_by"]));
        foreach (var socket in new[] { doctorSocket, patientSocket })
        {
            var frame = await socket.Next(Wait);
            Assert.Equal((FrameTypes.GroupUpdated, group.GroupId, AiModes.Off, 0, doctor.UserId),
                ((string?)frame["type"], (string?)frame["group_id"], (string?)frame["ai_mode"], (int)frame["pause_after_doctor_seconds"]!,
                    (string?)frame["updated_by"]));
        }
        var (_, shown) = await Api.Get($"/api/group/{group.GroupId}");
        Assert.Equal((AiModes.Off, 0), ((string?)shown!["ai_mode"], (int)shown["pause_after_doctor_seconds"]!));

        var marker = Guid.NewGuid().ToString("N");
        var unanswered = await Api.SendMessage(patient.UserId, group.GroupId, $"nobody but the doctor {marker}");
        var barrier = await Api.SendMessage(doctor.UserId, group.GroupId, "the doctor answers");
        // The patient's socket hears the two messages and nothing of an AI between them.
        List<string?> heard = [(string?)(await patientSocket.Next(Wait))["message_id"], (string?)(await patientSocket.Next(Wait))["message_id"]];
        Assert.Equal(new List<string?> { unanswered.MessageId, barrier.MessageId }, heard);
        Assert.Empty((await Api.ListAiInteractions(group.GroupId)).Records);
        Assert.Equal(0, RequestsAbout(marker));

        (status, _) = await Api.SetGroupAi(group.GroupId, """{"mode":"auto"}""", doctor.UserId);
        Assert.Equal(HttpStatusCode.OK, status);
        await Api.SendMessage(patient.UserId, group.GroupId, $"and now? {marker}");
        var reply = await patientSocket.NextOfType(FrameTypes.AiReply, Wait);
        Assert.Equal($"AI: and now? {marker}", (string?)reply["content"]);
        var record = Assert.Single((await Api.ListAiInteractions(group.GroupId)).Records);
        Assert.Equal((AiRecordStatus.Succeeded, AiModes.Auto), (record.Status, record.AiMode));
    }

    [Fact]
    public async Task Should_keep_the_ai_quiet_after_a_doctors_message_for_the_groups_pause()
    {
        var (doctor, patient, group) = await Api.CreateConsultation();
        var (status, body) = await Api.SetGroupAi(group.GroupId, """{"mode":"auto","pause_after_doctor_seconds":3600}""", doctor.UserId);
        Assert.Equal((HttpStatusCode.OK, 3600), (status, (int)body!["pause_after_doctor_seconds"]!));

        var marker = Guid.NewGuid().ToString("N");
        // Before any doctor's message the AI answers.
        await Api.SendMessage(patient.UserId, group.GroupId, $"first {marker}");
        await Eventually.True(async () => (await Api.ListAiInteractions(group.GroupId)).Records.SingleOrDefault()?.Status == AiRecordStatus.Succeeded,
            Wait, "the first question answered");

        await Api.SendMessage(doctor.UserId, group.GroupId, "I will take it from here");
        // A record would be opened in the same step that stores the message.
        await Api.SendMessage(patient.UserId, group.GroupId, $"second {marker}");

        Assert.Single((await Api.ListAiInteractions(group.GroupId)).Records);
        Assert.Equal(1, RequestsAbout(marker));
        // An omitted pause keeps the one set; the mode is what changes.
        (status, body) = await Api.SetGroupAi(group.GroupId, """{"mode":"off"}""", doctor.UserId);
        Assert.Equal((HttpStatusCode.OK, AiModes.Off, 3600), (status, (string?)body!["ai_mode"], (int)body["pause_after_doctor_seconds"]!));
    }

    [Fact]
    public async Task Should_let_a_record_finish_under_the_mode_it_was_opened_under()
    {
        var (doctor, patient, group) = await Api.CreateConsultation();
        await using var patientSocket = await WsClient.Connect(host.Host.BaseAddress, patient.UserId);
        // Six pieces a quarter of a second apart: the mode changes while they come.
        var question = $"ok? #trickle";
        await Api.SendMessage(patient.UserId, group.GroupId, question);
        await patientSocket.NextOfType(FrameTypes.AiDelta, Wait);

        var (status, _) = await Api.SetGroupAi(group.GroupId, """{"mode":"off"}""", doctor.UserId);
        Assert.Equal(HttpStatusCode.OK, status);

        var reply = await patientSocket.NextOfType(FrameTypes.AiReply, Wait);
        Assert.Equal("AI: " + question, (string?)reply["content"]);
        var record = Assert.Single((await Api.ListAiInteractions(group.GroupId)).Records);
        Assert.Equal((AiRecordStatus.Succeeded, AiModes.Auto), (record.Status, record.AiMode));
    }

    [Fact]
    public async Task Should_refuse_a_change_by_status_and_code()
    {
        var (doctor, patient, group) = await Api.CreateConsultation();
        var outsider = await Api.CreateUser(UserRoles.Doctor, "外科医生");

        await AssertRefused(Api.SetGroupAi(group.GroupId, """{"mode":"off"}""", null), HttpStatusCode.Unauthorized, ErrorCodes.Unauthorized);
        await AssertRefused(Api.SetGroupAi(group.GroupId, """{"mode":"off"}""", patient.UserId), HttpStatusCode.Forbidden, ErrorCodes.Forbidden);
        await AssertRefused(Api.SetGroupAi(group.GroupId, """{"mode":"off"}""", outsider.UserId), HttpStatusCode.Forbidden, ErrorCodes.Forbidden);
        await AssertRefused(Api.SetGroupAi("group_nobody_made", """{"mode":"off"}""", doctor.UserId), HttpStatusCode.NotFound, ErrorCodes.GroupNotFound);
        foreach (var bad in new[]
                 {
                     """{"mode":"OFF"}""", """{}""", """{"mode":"auto","pause_after_doctor_seconds":-1}""",
                     """{"mode":"auto","pause_after_doctor_seconds":86401}""", """{"mode":"auto","pause_after_doctor_seconds":"60"}""", "[]",
                 })
            await AssertRefused(Api.SetGroupAi(group.GroupId, bad, doctor.UserId), HttpStatusCode.BadRequest, ErrorCodes.InvalidParameter);

        var (_, shown) = await Api.Get($"/api/group/{group.GroupId}");
        Assert.Equal((AiModes.Auto, 0), ((string?)shown!["ai_mode"], (int)shown["pause_after_doctor_seconds"]!));
    }

    private static async Task AssertRefused(Task<(HttpStatusCode Status, JsonNode? Body)> call, HttpStatusCode status, string code)
    {
        var (actual, body) = await call;
        Assert.True(actual == status, $"expected {(int)status} {code}, got {(int)actual}: {body?.ToJsonString()}");
        Assert.Equal(code, (string?)body!["error"]!["code"]);
    }
}
