using System.Net;
using Im.Contracts;
using Im.TestSupport;

namespace Im.End2End.Tests;

[Collection(EndToEnd.Name)]
public sealed class StartupSpecs
{
    [Fact]
    public async Task Should_answer_503_with_the_error_body_until_the_cluster_is_up()
    {
        // A seed node nobody runs: the node never joins, so it must refuse quickly, not hang.
        var deadSeed = $"akka.tcp://im@127.0.0.1:{Ports.FreeLoopbackPort()}";
        await using var host = await HostProcess.Start(new Dictionary<string, string> { ["Akka__SeedNodes__0"] = deadSeed },
            readyPath: "/health/live");

        var started = DateTime.UtcNow;
        var (status, body) = await host.Api.Post("/api/user/create", new { username = "a", user_role = UserRoles.Patient });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal(ErrorCodes.ServiceUnavailable, (string?)body!["error"]!["code"]);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
        using var ready = await host.Http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
    }

    /// <summary>The fresh-clone case: no AI configured, the built-in stand-in answers over HTTP.</summary>
    [Fact]
    public async Task Should_reply_with_the_built_in_stand_in_when_no_ai_endpoint_is_set()
    {
        await using var host = await HostProcess.Start(new Dictionary<string, string>());
        var api = host.Api;
        var (doctor, patient, group) = await api.CreateConsultation();
        await using var doctorSocket = await WsClient.Connect(host.BaseAddress, doctor.UserId);

        var sent = await api.SendMessage(patient.UserId, group.GroupId, "我头疼");
        var reply = await doctorSocket.NextOfType(FrameTypes.AiReply);
        Assert.Equal(sent.MessageId, (string?)reply["user_message_id"]);
        Assert.False(string.IsNullOrWhiteSpace((string?)reply["content"]));

        var record = (await api.ListAiInteractions(group.GroupId)).Records.Single();
        Assert.Equal($"{host.BaseAddress.ToString().TrimEnd('/')}/dev/ai/v1/chat/completions", record.AiServiceUrl);
        Assert.Equal(AiRecordStatus.Succeeded, record.Status);
    }
}
