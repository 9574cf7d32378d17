using System.Text.Json.Nodes;
using Im.Contracts;
using Im.TestSupport;

namespace Im.End2End.Tests;

/// <summary>Spec 7.1 and 7.2, and the AI outcomes, over real HTTP and WebSocket clients.</summary>
public abstract class ConsultationFlow(E2EFixture fixture)
{
    private static readonly TimeSpan RecordWait = TimeSpan.FromSeconds(20);
    private ImApi Api => fixture.Api;

    [Fact]
    public async Task Should_push_the_patients_message_and_the_ai_reply_to_every_member()
    {
        var (doctor, patient, group) = await Api.CreateConsultation();
        await using var doctorSocket = await fixture.Connect(doctor.UserId);
        await using var patientSocket = await fixture.Connect(patient.UserId);

        var sent = await Api.SendMessage(patient.UserId, group.GroupId, "你好，我想咨询一个问题");
        Assert.Equal(MessageTypes.Text, sent.MsgType);
        Assert.Equal(1, sent.Seq);

        foreach (var socket in new[] { doctorSocket, patientSocket })
        {
            var pushed = await socket.NextOfType(FrameTypes.MessageSent);
            Assert.Equal(sent.MessageId, (string?)pushed["message_id"]);
            Assert.Equal("你好，我想咨询一个问题", (string?)pushed["content"]);
            Assert.Equal(patient.UserId, (string?)pushed["from_user_id"]);
            Assert.Equal(group.GroupId, (string?)pushed["group_id"]);
            Assert.Equal(sent.CreatedAt, (string?)pushed["created_at"]);
            Assert.Equal(1, (long)pushed["seq"]!);

            var reply = await socket.NextOfType(FrameTypes.AiReply);
            Assert.Equal(sent.MessageId, (string?)reply["user_message_id"]);
            Assert.Equal("ai_assistant_001", (string?)reply["from_user_id"]);
            Assert.Equal("AI: 你好，我想咨询一个问题", (string?)reply["content"]);
            Assert.Equal(MessageTypes.AiReply, (string?)reply["msg_type"]);
            Assert.Equal(2, (long)reply["seq"]!);
        }

        var records = await Api.ListAiInteractions(group.GroupId);
        var record = Assert.Single(records.Records);
        Assert.Equal(AiRecordStatus.Succeeded, record.Status);
        Assert.Equal(sent.MessageId, record.UserMessageId);
        Assert.Equal(fixture.Ai.Url, record.AiServiceUrl);
        Assert.NotNull(record.DurationMs);
        Assert.Null(record.ErrorMessage);
        var aiMessage = await Api.Get($"/api/message/{record.AiMessageId}");
        Assert.Equal(MessageTypes.AiReply, (string?)aiMessage.Body!["msg_type"]);

        var history = await Api.ListMessages(group.GroupId);
        Assert.Equal(2, history.Total);
        Assert.Equal([2L, 1L], history.Messages.Select(m => m.Seq));
    }

    [Fact]
    public async Task Should_not_forward_a_doctors_message_to_the_ai()
    {
        var (doctor, patient, group) = await Api.CreateConsultation();
        await using var patientSocket = await fixture.Connect(patient.UserId);

        var sent = await Api.SendMessage(doctor.UserId, group.GroupId, "doctor says hello");
        var pushed = await patientSocket.NextOfType(FrameTypes.MessageSent);
        Assert.Equal(sent.MessageId, (string?)pushed["message_id"]);

        // A forwarded message gets its record in the same store step as the message itself,
        // so once the send is acknowledged, no record means it was not forwarded.
        Assert.Equal(0, (await Api.ListAiInteractions(group.GroupId)).Total);
        Assert.DoesNotContain(fixture.Ai.Requests, r => r.ToJsonString().Contains("doctor says hello", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Should_route_on_the_group_role_not_the_system_role()
    {
        var doctorAsPatient = await Api.CreateUser(UserRoles.Doctor, "doctor in a patient's seat");
        var patientAsDoctor = await Api.CreateUser(UserRoles.Patient, "patient in a doctor's seat");
        var owner = await Api.CreateUser(UserRoles.Doctor);
        var group = await Api.CreateGroup(owner.UserId);
        await Api.AddMember(group.GroupId, doctorAsPatient.UserId, UserRoles.Patient);
        await Api.AddMember(group.GroupId, patientAsDoctor.UserId, UserRoles.Doctor);

        var forwarded = await Api.SendMessage(doctorAsPatient.UserId, group.GroupId, "group role patient");
        var notForwarded = await Api.SendMessage(patientAsDoctor.UserId, group.GroupId, "group role doctor");

        var records = (await Api.ListAiInteractions(group.GroupId)).Records;
        var record = Assert.Single(records);
        Assert.Equal(forwarded.MessageId, record.UserMessageId);
        Assert.NotEqual(notForwarded.MessageId, record.UserMessageId);
    }

    [Theory]
    [InlineData("#http500", ErrorCodes.AiCallFailed)]
    [InlineData("#slow", ErrorCodes.AiTimeout)]
    [InlineData("#malformed", ErrorCodes.AiBadResponse)]
    [InlineData("#nochoices", ErrorCodes.AiBadResponse)]
    public async Task Should_record_a_failed_ai_call_with_its_code(string marker, string code)
    {
        var (_, patient, group) = await Api.CreateConsultation();
        var sent = await Api.SendMessage(patient.UserId, group.GroupId, "please answer " + marker);

        AiInteractionResponse? record = null;
        await Eventually.True(async () =>
        {
            record = (await Api.ListAiInteractions(group.GroupId)).Records.Single();
            return record.Status != AiRecordStatus.Pending;
        }, RecordWait, $"record of {marker} closed");

        Assert.Equal(AiRecordStatus.Failed, record!.Status);
        Assert.StartsWith(code + ":", record.ErrorMessage);
        Assert.Equal(sent.MessageId, record.UserMessageId);
        Assert.Null(record.AiMessageId);
        Assert.Equal(1, (await Api.ListMessages(group.GroupId)).Total);
    }

    [Fact]
    public async Task Should_send_the_system_prompt_and_recent_context_to_the_ai()
    {
        var (doctor, patient, group) = await Api.CreateConsultation();
        await Api.SendMessage(doctor.UserId, group.GroupId, "context one");
        await Api.SendMessage(doctor.UserId, group.GroupId, "context two");
        var trigger = await Api.SendMessage(patient.UserId, group.GroupId, "the question " + Guid.NewGuid());

        JsonNode? request = null;
        await Eventually.True(() =>
        {
            request = fixture.Ai.Requests.LastOrDefault(r => r.ToJsonString().Contains(trigger.MsgContent, StringComparison.Ordinal));
            return request is not null;
        }, RecordWait, "the AI request");

        Assert.True((bool)request!["stream"]!);
        var messages = request["messages"]!.AsArray().Select(m => ((string)m!["role"]!, (string)m["content"]!)).ToList();
        Assert.Equal(("system", "test system prompt"), messages[0]);
        Assert.Equal([("user", "context one"), ("user", "context two"), ("user", trigger.MsgContent)], messages.Skip(1));
    }

    [Fact]
    public async Task Should_cut_an_over_long_ai_reply_to_5000_characters()
    {
        var (_, patient, group) = await Api.CreateConsultation();
        await Api.SendMessage(patient.UserId, group.GroupId, "tell me everything #long");
        await Eventually.True(async () => (await Api.ListAiInteractions(group.GroupId)).Records.Single().Status == AiRecordStatus.Succeeded,
            RecordWait, "AI record succeeded");
        var reply = (await Api.ListMessages(group.GroupId)).Messages.First(m => m.MsgType == MessageTypes.AiReply);
        Assert.Equal(5000, Limits.CountCharacters(reply.MsgContent));
    }

    [Fact]
    public async Task Should_catch_up_with_after_seq_oldest_first()
    {
        var (doctor, _, group) = await Api.CreateConsultation();
        for (var i = 1; i <= 7; i++) await Api.SendMessage(doctor.UserId, group.GroupId, $"m{i}");

        var (_, page) = await Api.Get($"/api/message/list?group_id={group.GroupId}&after_seq=3&page_size=3");
        Assert.Equal(["m4", "m5", "m6"], page!["messages"]!.AsArray().Select(m => (string)m!["msg_content"]!));
        Assert.Equal(7, (long)page["total"]!);
        var (_, next) = await Api.Get($"/api/message/list?group_id={group.GroupId}&after_seq=6&page_size=3");
        Assert.Equal([7L], next!["messages"]!.AsArray().Select(m => (long)m!["seq"]!));
        var (_, none) = await Api.Get($"/api/message/list?group_id={group.GroupId}&after_seq=7");
        Assert.Empty(none!["messages"]!.AsArray());
    }

    [Fact]
    public async Task Should_answer_each_rest_endpoint_of_the_spec()
    {
        var user = await Api.CreateUser(UserRoles.Patient, "李四");
        var fetched = await Api.Get($"/api/user/{user.UserId}");
        Assert.Equal("李四", (string?)fetched.Body!["username"]);
        Assert.Matches("^user_\\d{14}_[a-z0-9]{8}$", user.UserId);
        Assert.Matches("^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}$", user.CreatedAt);

        var updated = await Api.Send(HttpMethod.Put, $"/api/user/{user.UserId}/role", "{\"user_role\":\"DOCTOR\"}");
        Assert.Equal(UserRoles.Doctor, (string?)updated.Body!["user_role"]);
        Assert.Equal(user.Id, (long)updated.Body["id"]!);

        var group = await Api.CreateGroup(user.UserId, "群");
        Assert.Matches("^group_\\d{14}_[a-z0-9]{8}$", group.GroupId);
        Assert.Equal(user.UserId, group.CreatedBy);
        var (_, groupBody) = await Api.Get($"/api/group/{group.GroupId}");
        Assert.Equal("群", (string?)groupBody!["group_name"]);

        var noDescription = await Api.Post("/api/group/create", new { group_name = "no description" }, user.UserId);
        Assert.Null(noDescription.Body!["description"]);
        Assert.True(noDescription.Body.AsObject().ContainsKey("description"));

        var (_, members) = await Api.Get($"/api/group/{group.GroupId}/members");
        Assert.Equal(1, (int)members!["total"]!);
        Assert.Equal(UserRoles.Doctor, (string?)members["members"]![0]!["user_role"]);

        var message = await Api.SendMessage(user.UserId, group.GroupId, "x");
        Assert.Matches("^msg_\\d{14}_[a-z0-9]{8}$", message.MessageId);
        var (_, single) = await Api.Get($"/api/message/{message.MessageId}");
        Assert.Equal(message.Id, (long)single!["id"]!);
        Assert.Equal(1, (long)single["seq"]!);
    }
}

[Collection(EndToEnd.Name)]
public sealed class ConsultationFlowSpecs(E2EFixture fixture) : ConsultationFlow(fixture);

/// <summary>The same, with the host's store a Redis Cluster.</summary>
[Collection(EndToEnd.Name)]
public sealed class ConsultationFlowOnRedisClusterSpecs(RedisClusterE2EFixture fixture) : ConsultationFlow(fixture), IClassFixture<RedisClusterE2EFixture>;
