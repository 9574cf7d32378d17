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

    /// <summary>
    /// A store that answers but refuses what the host needs: one line that names the store and its
    /// answer, no stack trace, and an exit code of the host's own, instead of an abort.
    /// </summary>
    [Theory]
    [InlineData("a Redis that runs no scripts", "unknown command")]
    [InlineData("a Redis with a password the host does not have", "AuthenticationFailure")]
    public async Task Should_exit_with_code_3_and_one_line_when_the_store_refuses_at_start(string store, string answer)
    {
        await using var redis = store.Contains("password", StringComparison.Ordinal)
            ? await RedisServer.Start("--requirepass", "not-given-to-the-host")
            : await RedisServer.Start("--rename-command", "EVAL", "", "--rename-command", "EVALSHA", "");
        var connectionString = redis.ConnectionString;

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            HostProcess.Start(new Dictionary<string, string> { ["ConnectionStrings__Redis"] = connectionString }));

        Assert.StartsWith("Im.Host exited with 3:", failure.Message, StringComparison.Ordinal);
        var refusal = Assert.Single(failure.Message.Split('\n'), line => line.Contains("refused ImAkka's start-up", StringComparison.Ordinal));
        Assert.Contains(answer, refusal, StringComparison.Ordinal);
        Assert.Contains(connectionString.Split(',')[0], refusal, StringComparison.Ordinal);
        Assert.DoesNotContain(failure.Message.Split('\n'), line => line.TrimStart().StartsWith("at ", StringComparison.Ordinal));
    }
}
