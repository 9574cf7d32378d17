using System.Net;
using Im.Contracts;
using Im.TestSupport;

namespace Im.End2End.Tests;

/// <summary>Access can be taken away: a removed member's sockets stop getting the group's pushes, and later sends (and in Jwt mode reads) are refused.</summary>
[Collection(EndToEnd.Name)]
public sealed class MemberRemovalSpecs(E2EFixture fixture)
{
    private const string Key = "member-removal-key-of-at-least-32-bytes!";

    [Fact]
    public async Task Should_stop_pushes_and_refuse_sends_at_once_in_header_mode()
    {
        var api = fixture.Api;
        var (doctor, patient, group) = await api.CreateConsultation();
        var companion = await api.CreateGroup(doctor.UserId, "another consultation");
        await api.AddMember(companion.GroupId, patient.UserId, UserRoles.Doctor);
        await using var patientSocket = await fixture.Connect(patient.UserId);

        var (removed, body) = await api.Send(HttpMethod.Delete, $"/api/group/{group.GroupId}/members/{patient.UserId}", callerId: doctor.UserId);

        Assert.Equal(HttpStatusCode.OK, removed);
        Assert.Equal("""{"success":true}""", body!.ToJsonString());
        await AssertNoLongerPushedTo(patientSocket, doctor.UserId, group.GroupId, companion.GroupId);
        var (send, error) = await api.Post("/api/message/send", new { group_id = group.GroupId, content = "还在吗" }, patient.UserId);
        Assert.Equal((HttpStatusCode.NotFound, ErrorCodes.NotMember), (send, (string?)error!["error"]!["code"]));
        await patientSocket.SendJson(new { type = FrameTypes.SendMessage, group_id = group.GroupId, content = "还在吗", client_msg_id = "after" });
        var refused = await patientSocket.NextOfType(FrameTypes.Error);
        Assert.Equal((ErrorCodes.NotMember, "after"), ((string?)refused["code"], (string?)refused["client_msg_id"]));
        Assert.DoesNotContain(patient.UserId, (await api.Get($"/api/group/{group.GroupId}/members")).Body!["members"]!.AsArray()
            .Select(m => (string?)m!["user_id"]));

        // Removing again is 2003; only a DOCTOR member may remove (the patient is one only in the companion group).
        Assert.Equal(HttpStatusCode.NotFound,
            (await api.Send(HttpMethod.Delete, $"/api/group/{group.GroupId}/members/{patient.UserId}", callerId: doctor.UserId)).Status);
        Assert.Equal(HttpStatusCode.Forbidden,
            (await api.Send(HttpMethod.Delete, $"/api/group/{group.GroupId}/members/{doctor.UserId}", callerId: patient.UserId)).Status);
    }

    [Fact]
    public async Task Should_refuse_every_read_and_send_of_a_removed_member_in_jwt_mode()
    {
        await using var host = await HostProcess.Start(new Dictionary<string, string> { ["Auth__Mode"] = "Jwt", ["Auth__JwtKey"] = Key });
        var admin = host.Api.WithToken(Jwt.Mint(Key, "ops", admin: true));
        var doctor = await admin.CreateUser(UserRoles.Doctor);
        var patient = await admin.CreateUser(UserRoles.Patient);
        var group = (string)(await admin.Post("/api/group/create", new { group_name = "g", created_by = doctor.UserId })).Body!["group_id"]!;
        var companion = (string)(await admin.Post("/api/group/create", new { group_name = "c", created_by = doctor.UserId })).Body!["group_id"]!;
        await admin.AddMember(group, patient.UserId, UserRoles.Patient);
        await admin.AddMember(companion, patient.UserId, UserRoles.Doctor);
        var asDoctor = host.Api.WithToken(Jwt.Mint(Key, doctor.UserId));
        var asPatient = host.Api.WithToken(Jwt.Mint(Key, patient.UserId));
        var message = (string)(await asDoctor.Post("/api/message/send", new { group_id = group, content = "复诊" })).Body!["message_id"]!;
        string[] reads =
        [
            $"/api/group/{group}", $"/api/group/{group}/members", $"/api/message/list?group_id={group}",
            $"/api/message/{message}", $"/api/ai/interactions?group_id={group}", $"/api/user/{doctor.UserId}",
        ];
        foreach (var read in reads) Assert.Equal(HttpStatusCode.OK, (await asPatient.Get(read)).Status);
        await using var patientSocket = await WsClient.Connect(new Uri(host.BaseAddress, $"?access_token={Jwt.Mint(Key, patient.UserId)}"),
            patient.UserId);

        Assert.Equal(HttpStatusCode.OK, (await asDoctor.Send(HttpMethod.Delete, $"/api/group/{group}/members/{patient.UserId}")).Status);

        await AssertNoLongerPushedTo(patientSocket, asDoctor, group, companion);
        // Still sharing the companion group, the patient may read the doctor's profile; nothing of the group.
        foreach (var read in reads.SkipLast(1))
        {
            var (status, body) = await asPatient.Get(read);
            Assert.True(status == HttpStatusCode.Forbidden, $"{read}: {(int)status} {body?.ToJsonString()}");
        }
        Assert.Equal(HttpStatusCode.OK, (await asPatient.Get($"/api/user/{doctor.UserId}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await asPatient.Post("/api/message/send", new { group_id = group, content = "x" })).Status);
    }

    private Task AssertNoLongerPushedTo(WsClient socket, string doctorId, string group, string companion) =>
        AssertNoLongerPushedTo(socket, (groupId, content) => fixture.Api.SendMessage(doctorId, groupId, content), group, companion);

    private static Task AssertNoLongerPushedTo(WsClient socket, ImApi asDoctor, string group, string companion) =>
        AssertNoLongerPushedTo(socket, async (groupId, content) =>
        {
            var (status, body) = await asDoctor.Post("/api/message/send", new { group_id = groupId, content });
            Assert.True(status == HttpStatusCode.OK, body?.ToJsonString());
        }, group, companion);

    /// <summary>
    /// A message to the group no longer reaches the removed member's socket. The member still
    /// shares <paramref name="companion"/>, whose message is stored after it: one fan-out delivers
    /// a node's pushes in order, so the companion's push arriving first proves the group's never came.
    /// </summary>
    private static async Task AssertNoLongerPushedTo(WsClient socket, Func<string, string, Task> send, string group, string companion)
    {
        await send(group, "removed members must not see this");
        await send(companion, "barrier");
        var next = await socket.NextOfType(FrameTypes.MessageSent);
        Assert.Equal((companion, "barrier"), ((string?)next["group_id"], (string?)next["content"]));
    }
}
