using System.Net.WebSockets;
using Im.Contracts;
using Im.TestSupport;

namespace Im.End2End.Tests;

/// <summary>Spec section 4 and DESIGN.md's frames, with real WebSocket clients.</summary>
public abstract class WebSocket(E2EFixture fixture)
{
    private ImApi Api => fixture.Api;

    [Fact]
    public async Task Should_say_connected_with_the_user_id()
    {
        var user = await Api.CreateUser(UserRoles.Doctor);
        await using var socket = await WsClient.Connect(fixture.Host.BaseAddress, user.UserId, expectConnected: false);
        var frame = await socket.Next();
        Assert.Equal(FrameTypes.Connected, (string?)frame["type"]);
        Assert.Equal(user.UserId, (string?)frame["user_id"]);
    }

    [Fact]
    public async Task Should_refuse_an_unknown_user_with_2001_then_close_1008()
    {
        await using var socket = await WsClient.Connect(fixture.Host.BaseAddress, "user_nobody", expectConnected: false);
        var frame = await socket.Next();
        Assert.Equal(FrameTypes.Error, (string?)frame["type"]);
        Assert.Equal(ErrorCodes.UserNotFound, (string?)frame["code"]);
        await socket.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, socket.CloseStatus);
    }

    [Fact]
    public async Task Should_send_over_the_socket_and_echo_client_msg_id_to_the_senders_connections_only()
    {
        var (doctor, patient, group) = await Api.CreateConsultation();
        await using var doctorPhone = await fixture.Connect(doctor.UserId);
        await using var doctorLaptop = await fixture.Connect(doctor.UserId);
        await using var patientSocket = await fixture.Connect(patient.UserId);

        await doctorPhone.SendJson(new { type = "send_message", group_id = group.GroupId, content = "来自医生", client_msg_id = "c-1" });

        foreach (var own in new[] { doctorPhone, doctorLaptop })
        {
            var frame = await own.NextOfType(FrameTypes.MessageSent);
            Assert.Equal("c-1", (string?)frame["client_msg_id"]);
            Assert.Equal("来自医生", (string?)frame["content"]);
            Assert.Equal(doctor.UserId, (string?)frame["from_user_id"]);
        }
        var other = await patientSocket.NextOfType(FrameTypes.MessageSent);
        Assert.Equal("来自医生", (string?)other["content"]);
        Assert.False(other.AsObject().ContainsKey("client_msg_id"));

        var stored = await Api.ListMessages(group.GroupId);
        Assert.Equal((string?)other["message_id"], stored.Messages.Single().MessageId);
    }

    [Fact]
    public async Task Should_answer_ping_with_pong()
    {
        var user = await Api.CreateUser(UserRoles.Doctor);
        await using var socket = await fixture.Connect(user.UserId);
        await socket.SendJson(new { type = "ping" });
        Assert.Equal(FrameTypes.Pong, (string?)(await socket.Next())["type"]);
    }

    [Fact]
    public async Task Should_answer_bad_frames_with_error_frames_and_stay_usable()
    {
        var (doctor, _, group) = await Api.CreateConsultation();
        var outsider = await Api.CreateUser(UserRoles.Patient);
        await using var socket = await fixture.Connect(doctor.UserId);
        await using var outsiderSocket = await fixture.Connect(outsider.UserId);

        async Task ExpectError(WsClient client, Func<Task> send, string code)
        {
            await send();
            var frame = await client.Next();
            Assert.Equal(FrameTypes.Error, (string?)frame["type"]);
            Assert.Equal(code, (string?)frame["code"]);
            Assert.False(string.IsNullOrEmpty((string?)frame["message"]));
        }

        await ExpectError(socket, () => socket.SendText("{not json"), ErrorCodes.InvalidFrame);
        await ExpectError(socket, () => socket.SendText("[1,2,3]"), ErrorCodes.InvalidFrame);
        await ExpectError(socket, () => socket.SendText("{\"content\":\"no type\"}"), ErrorCodes.InvalidFrame);
        await ExpectError(socket, () => socket.SendBinary([1, 2, 3]), ErrorCodes.InvalidFrame);
        await ExpectError(socket, () => socket.SendJson(new { type = "dance" }), ErrorCodes.UnknownType);
        await ExpectError(socket, () => socket.SendJson(new { type = "send_message", group_id = group.GroupId, content = "  " }), ErrorCodes.ContentEmpty);
        await ExpectError(socket, () => socket.SendJson(new { type = "send_message", group_id = group.GroupId, content = new string('x', 5001) }), ErrorCodes.ContentTooLong);
        await ExpectError(socket, () => socket.SendJson(new { type = "send_message", content = "hi" }), ErrorCodes.GroupIdEmpty);
        await ExpectError(socket, () => socket.SendJson(new { type = "send_message", group_id = 7, content = "hi" }), ErrorCodes.InvalidParameter);
        await ExpectError(socket, () => socket.SendJson(new { type = "send_message", group_id = "group_none", content = "hi" }), ErrorCodes.GroupNotFound);
        await ExpectError(outsiderSocket, () => outsiderSocket.SendJson(new { type = "send_message", group_id = group.GroupId, content = "hi" }), ErrorCodes.NotMember);

        await socket.SendJson(new { type = "ping" });
        Assert.Equal(FrameTypes.Pong, (string?)(await socket.Next())["type"]);
        await socket.SendJson(new { type = "send_message", group_id = group.GroupId, content = "still works" });
        Assert.Equal("still works", (string?)(await socket.NextOfType(FrameTypes.MessageSent))["content"]);
    }

    [Fact]
    public async Task Should_push_to_a_member_added_after_it_connected()
    {
        var (doctor, _, group) = await Api.CreateConsultation();
        var latecomer = await Api.CreateUser(UserRoles.Patient);
        await using var socket = await fixture.Connect(latecomer.UserId);
        await Api.AddMember(group.GroupId, latecomer.UserId, UserRoles.Doctor);

        var sent = await Api.SendMessage(doctor.UserId, group.GroupId, "welcome");
        var frame = await socket.NextOfType(FrameTypes.MessageSent);
        Assert.Equal(sent.MessageId, (string?)frame["message_id"]);
    }

    [Fact]
    public async Task Should_not_push_to_users_outside_the_group()
    {
        var (doctor, _, group) = await Api.CreateConsultation();
        var stranger = await Api.CreateUser(UserRoles.Patient);
        var strangersGroup = await Api.CreateGroup(stranger.UserId);
        await using var strangerSocket = await fixture.Connect(stranger.UserId);

        await Api.SendMessage(doctor.UserId, group.GroupId, "private");
        var own = await Api.SendMessage(stranger.UserId, strangersGroup.GroupId, "mine");

        // Pushes to one connection come in order: the stranger's own message arrives, the other group's never does.
        var frame = await strangerSocket.NextOfType(FrameTypes.MessageSent);
        Assert.Equal(own.MessageId, (string?)frame["message_id"]);
    }

    [Fact]
    public async Task Should_refuse_a_plain_http_request_to_the_socket_path()
    {
        var user = await Api.CreateUser(UserRoles.Doctor);
        var (status, body) = await Api.Get($"/ws/{user.UserId}");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, status);
        Assert.Equal(ErrorCodes.InvalidParameter, (string?)body!["error"]!["code"]);
    }
}

[Collection(EndToEnd.Name)]
public sealed class WebSocketSpecs(E2EFixture fixture) : WebSocket(fixture);

/// <summary>The same, with the host's store a Redis Cluster.</summary>
[Collection(EndToEnd.Name)]
public sealed class WebSocketOnRedisClusterSpecs(RedisClusterE2EFixture fixture) : WebSocket(fixture), IClassFixture<RedisClusterE2EFixture>;
