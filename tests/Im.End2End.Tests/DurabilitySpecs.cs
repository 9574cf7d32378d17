using System.Net;
using System.Text.Json;
using Im.Contracts;
using Im.TestSupport;

namespace Im.End2End.Tests;

/// <summary>Restarts and kill -9 of the host, on the embedded store and on a real redis-server.</summary>
[Collection(EndToEnd.Name)]
public sealed class DurabilitySpecs
{
    public enum Store
    {
        Embedded,
        Redis,
    }

    [Theory]
    [InlineData(Store.Embedded)]
    [InlineData(Store.Redis)]
    public async Task Should_keep_everything_across_a_restart_and_continue_the_counters(Store store)
    {
        await using var redis = store == Store.Redis ? await RedisServer.Start() : null;
        await using var host = await StartHost(redis);
        var api = host.Api;
        var (doctor, patient, group) = await api.CreateConsultation();
        var first = await api.SendMessage(patient.UserId, group.GroupId, "before restart");
        await Eventually.True(async () => (await api.ListAiInteractions(group.GroupId)).Records.Single().Status == AiRecordStatus.Succeeded,
            TimeSpan.FromSeconds(20), "AI reply before restart");

        await host.Stop();
        await host.Launch();

        var (userStatus, userBody) = await api.Get($"/api/user/{patient.UserId}");
        Assert.Equal(HttpStatusCode.OK, userStatus);
        Assert.Equal(patient.Username, (string?)userBody!["username"]);
        var members = await api.Get($"/api/group/{group.GroupId}/members");
        Assert.Equal(2, (int)members.Body!["total"]!);
        var history = await api.History(group.GroupId);
        Assert.Equal([1L, 2L], history.Select(m => m.Seq));
        Assert.Equal(first.MessageId, history[0].MessageId);
        Assert.Equal(AiRecordStatus.Succeeded, (await api.ListAiInteractions(group.GroupId)).Records.Single().Status);

        var later = await api.SendMessage(doctor.UserId, group.GroupId, "after restart");
        Assert.Equal(3, later.Seq);
        Assert.True(later.Id > history[^1].Id);
        Assert.True((await api.CreateUser(UserRoles.Doctor)).Id > patient.Id);
    }

    [Theory]
    [InlineData(Store.Embedded)]
    [InlineData(Store.Redis)]
    public async Task Should_lose_no_acknowledged_message_to_a_kill_9(Store store)
    {
        await using var redis = store == Store.Redis ? await RedisServer.Start() : null;
        await using var host = await StartHost(redis);
        var api = host.Api;
        var doctors = new List<UserResponse>();
        var owner = await api.CreateUser(UserRoles.Doctor);
        var group = await api.CreateGroup(owner.UserId);
        for (var i = 0; i < 8; i++)
        {
            var doctor = await api.CreateUser(UserRoles.Doctor);
            await api.AddMember(group.GroupId, doctor.UserId, UserRoles.Doctor);
            doctors.Add(doctor);
        }

        var acknowledged = new System.Collections.Concurrent.ConcurrentBag<MessageResponse>();
        await Task.WhenAll(doctors.Select(async doctor =>
        {
            for (var n = 0; n < 25; n++) acknowledged.Add(await api.SendMessage(doctor.UserId, group.GroupId, $"burst {n}"));
        }));
        await host.Kill();
        await host.Launch();

        foreach (var message in acknowledged)
        {
            var (status, body) = await api.Get($"/api/message/{message.MessageId}");
            Assert.True(status == HttpStatusCode.OK, $"{message.MessageId} (seq {message.Seq}) lost: {body?.ToJsonString()}");
            Assert.Equal(message.Seq, (long)body!["seq"]!);
        }
        var history = await api.History(group.GroupId);
        Assert.Equal(Enumerable.Range(1, acknowledged.Count).Select(i => (long)i), history.Select(m => m.Seq));
        Assert.Equal(acknowledged.Count + 1, (await api.SendMessage(owner.UserId, group.GroupId, "after the crash")).Seq);
    }

    [Fact]
    public async Task Should_answer_503_while_redis_is_down_and_recover_when_it_returns()
    {
        await using var redis = await RedisServer.Start();
        await using var host = await StartHost(redis);
        var api = host.Api;
        var doctor = await api.CreateUser(UserRoles.Doctor);
        await redis.Stop();

        var (status, body) = await api.Post("/api/user/create", new { username = "x", user_role = UserRoles.Doctor });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal(ErrorCodes.ServiceUnavailable, (string?)body!["error"]!["code"]);
        var (readStatus, _) = await api.Get($"/api/user/{doctor.UserId}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, readStatus);

        await redis.Launch();
        await Eventually.True(async () => (await api.Get($"/api/user/{doctor.UserId}")).Status == HttpStatusCode.OK,
            TimeSpan.FromSeconds(30), "reads after Redis returns");
        var group = await api.CreateGroup(doctor.UserId);
        Assert.Equal(1, (await api.SendMessage(doctor.UserId, group.GroupId, "back")).Seq);
    }

    [Fact]
    public async Task Should_answer_503_when_an_actor_does_not_answer_within_the_ask_timeout()
    {
        await using var redis = await RedisServer.Start();
        await using var host = await HostProcess.Start(new Dictionary<string, string>
        {
            ["ConnectionStrings__Redis"] = redis.ConnectionString,
            ["Im__AskTimeoutSeconds"] = "1",
        });
        // A 1 s ask timeout is tight for a host that has just started on a busy machine: set up with retries.
        UserResponse? doctor = null;
        await Eventually.True(async () =>
        {
            var (created, body) = await host.Api.Post("/api/user/create", new { username = "d", user_role = UserRoles.Doctor });
            if (created == HttpStatusCode.OK) doctor = body.Deserialize<UserResponse>(ImJson.Options);
            return doctor is not null;
        }, TimeSpan.FromSeconds(20), "a user created");
        // Kept open until the end: closing a connection waits for the paused server.
        await using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        // Redis stops answering anyone for 8 s: the store neither fails nor answers (its own timeout
        // is 5 s), so an answer well before that can only come from the 1 s ask timeout.
        await admin.GetDatabase().ExecuteAsync("CLIENT", "PAUSE", "8000", "ALL");

        var started = DateTime.UtcNow;
        var (status, error) = await host.Api.Post("/api/group/create", new { group_name = "paused" }, doctor!.UserId);
        var elapsed = DateTime.UtcNow - started;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal(ErrorCodes.ServiceUnavailable, (string?)error!["error"]!["code"]);
        Assert.True(elapsed < TimeSpan.FromSeconds(4.5), $"answered after {elapsed.TotalSeconds:F1} s: by the ask timeout, not the store's");

        await Eventually.True(async () => (await host.Api.Get($"/api/user/{doctor.UserId}")).Status == HttpStatusCode.OK,
            TimeSpan.FromSeconds(30), "reads after the pause");
    }

    /// <summary>An interaction left at status 0 by a crash is closed as interrupted on the next start.</summary>
    [Fact]
    public async Task Should_close_records_interrupted_by_a_crash()
    {
        await using var ai = await StandInAiServer.Start();
        await using var host = await HostProcess.Start(new Dictionary<string, string> { ["Ai__Endpoint"] = ai.Url, ["Ai__TimeoutSeconds"] = "30" });
        var api = host.Api;
        var (_, patient, group) = await api.CreateConsultation();
        // The stand-in takes 8 s to answer "#slow" and the timeout is 30 s: the call is in flight when the host dies.
        await api.SendMessage(patient.UserId, group.GroupId, "slow one #slow");
        Assert.Equal(AiRecordStatus.Pending, (await api.ListAiInteractions(group.GroupId)).Records.Single().Status);

        await host.Kill();
        await host.Launch();

        // The restarted node finds the record open on its dead incarnation and wakes the group's writer, which closes it.
        AiInteractionResponse record = null!;
        await Eventually.True(async () => (record = (await api.ListAiInteractions(group.GroupId)).Records.Single()).Status != AiRecordStatus.Pending,
            TimeSpan.FromSeconds(15), "the interrupted record closed");
        Assert.Equal(AiRecordStatus.Failed, record.Status);
        Assert.StartsWith(ErrorCodes.AiCallFailed + ": interrupted", record.ErrorMessage);
    }

    private static async Task<HostProcess> StartHost(RedisServer? redis)
    {
        var settings = new Dictionary<string, string>();
        if (redis is not null)
        {
            settings["ConnectionStrings__Redis"] = redis.ConnectionString;
            settings["Redis__KeyPrefix"] = $"t{Guid.NewGuid():N}:";
        }
        return await HostProcess.Start(settings);
    }
}
