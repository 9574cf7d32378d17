using Akka.Actor;
using Akka.TestKit;
using Im.Actors.Ai;
using Im.Actors.Groups;
using Im.Actors.Storage;
using Im.Actors.Tests.Support;
using Im.Contracts;
using Im.TestSupport;
using StackExchange.Redis;
using static Im.Actors.Groups.GroupCommands;
using static Im.Actors.Tests.Support.OutcomeAssert;

namespace Im.Actors.Tests;

/// <summary>
/// The writer's pipelined appends: plain messages go to the store without waiting for each other's
/// round trip, and still in the order they came; whatever must be decided against their outcome
/// (an AI reply, a member change, an image) waits for them, and what came after it waits too.
/// </summary>
public sealed partial class GroupActorSpecs
{
    /// <summary>Tells every command from one probe, in order, and collects the answers (which may come in any order).</summary>
    private static async Task<List<Outcome<SentMessage>>> TellAll(TestProbe from, IActorRef group, IReadOnlyList<SendMessage> sends)
    {
        foreach (var send in sends) group.Tell(send, from.Ref);
        var answers = new List<Outcome<SentMessage>>();
        for (var i = 0; i < sends.Count; i++) answers.Add(await from.ExpectMsgAsync<Outcome<SentMessage>>(AskTimeout));
        return answers;
    }

    private async Task<List<MessageResponse>> Stored() =>
        [.. (await _store.ListMessages(_groupId, new PageRequest(1, 1000))).Messages.OrderBy(m => m.Seq)];

    [Fact]
    public async Task Should_store_a_burst_in_the_order_it_came_with_seq_gap_free()
    {
        var group = await GroupWith(("d1", UserRoles.Doctor, UserRoles.Doctor));
        var sends = Enumerable.Range(1, 3 * GroupActor.MaxPipelined)
            .Select(i => new SendMessage(_groupId, i % 2 == 0 ? "creator" : "d1", $"burst {i}", null)).ToList();

        var answers = await TellAll(CreateTestProbe(), group, sends);

        Assert.All(answers, answer => Assert.Null(answer.Error));
        var stored = await Stored();
        Assert.Equal(sends.Select(s => s.Content), stored.Select(m => m.MsgContent));
        Assert.Equal(Enumerable.Range(1, sends.Count).Select(i => (long)i), stored.Select(m => m.Seq));
        Assert.Equal(stored.Select(m => m.MessageId).Order(), answers.Select(a => a.Value!.Message.MessageId).Order());
    }

    [Fact]
    public async Task Should_store_a_client_msg_id_repeated_inside_one_burst_once_and_answer_every_repeat_with_it()
    {
        var group = await GroupWith();
        var sends = Enumerable.Range(1, 10).Select(_ => new SendMessage(_groupId, "creator", "once", "c-1")).ToList();

        var answers = await TellAll(CreateTestProbe(), group, sends);

        var messages = answers.Select(a => Ok(a)).ToList();
        Assert.Single(messages.Select(m => m.Message.MessageId).Distinct());
        Assert.Single(messages, m => !m.Replayed);
        Assert.Single(await Stored());
    }

    [Fact]
    public async Task Should_store_an_ai_reply_and_an_image_in_their_place_among_pipelined_messages()
    {
        var (group, call) = await PatientAsked();
        var media = await Uploaded(_groupId, "doctor");
        var probe = CreateTestProbe();
        var before = Enumerable.Range(1, 20).Select(i => new SendMessage(_groupId, "doctor", $"before {i}", null)).ToList();
        var between = Enumerable.Range(1, 20).Select(i => new SendMessage(_groupId, "doctor", $"between {i}", null)).ToList();
        var after = Enumerable.Range(1, 20).Select(i => new SendMessage(_groupId, "doctor", $"after {i}", null)).ToList();

        foreach (var send in before) group.Tell(send, probe.Ref);
        group.Tell(new AiAnswered(_groupId, call.RecordId, call.Attempt, new AiCallResult.Answered("the reply", 10)));
        foreach (var send in between) group.Tell(send, probe.Ref);
        group.Tell(SendImage("doctor", media.MediaId), probe.Ref);
        foreach (var send in after) group.Tell(send, probe.Ref);
        for (var i = 0; i < 61; i++) Assert.Null((await probe.ExpectMsgAsync<Outcome<SentMessage>>(AskTimeout)).Error);

        var stored = (await Stored()).Skip(1).ToList();
        string[] expected = [.. before.Select(s => s.Content), "the reply", .. between.Select(s => s.Content), media.MediaId,
            .. after.Select(s => s.Content)];
        Assert.Equal(expected, stored.Select(m => m.MsgContent));
        Assert.Equal(Enumerable.Range(2, expected.Length).Select(i => (long)i), stored.Select(m => m.Seq));
    }

    [Fact]
    public async Task Should_push_to_a_removed_member_only_what_was_sent_before_the_removal()
    {
        var group = await GroupWith(("p1", UserRoles.Patient, UserRoles.Patient), ("d1", UserRoles.Doctor, UserRoles.Doctor));
        var events = await _server.Redis.GetSubscriber().SubscribeAsync(_store.Keys.GroupEvents(_groupId));
        var probe = CreateTestProbe();
        foreach (var i in Enumerable.Range(1, 30)) group.Tell(new SendMessage(_groupId, "d1", $"before {i}", null), probe.Ref);
        group.Tell(new RemoveMember(_groupId, "p1", Jwt("creator")), probe.Ref);
        foreach (var i in Enumerable.Range(1, 30)) group.Tell(new SendMessage(_groupId, "d1", $"after {i}", null), probe.Ref);

        var pushed = new List<(IReadOnlyList<string> Recipients, MessageSentFrame Message)>();
        for (var i = 0; i < 60; i++) pushed.Add(await ReadEvent(events));
        await events.UnsubscribeAsync();

        Assert.Equal([.. Enumerable.Range(1, 30).Select(i => $"before {i}"), .. Enumerable.Range(1, 30).Select(i => $"after {i}")],
            pushed.Select(p => p.Message.Content));
        Assert.All(pushed.Take(30), p => Assert.Contains("p1", p.Recipients));
        Assert.All(pushed.Skip(30), p => Assert.DoesNotContain("p1", p.Recipients));
    }

    [Fact]
    public async Task Should_acknowledge_only_what_is_stored_and_store_nothing_twice_when_the_store_drops_mid_burst()
    {
        await using var redisServer = await RedisServer.Start();
        var options = ConfigurationOptions.Parse(redisServer.ConnectionString);
        options.AbortOnConnectFail = false;
        options.ReconnectRetryPolicy = new LinearRetry(100);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(options);
        await using var admin = await ConnectionMultiplexer.ConnectAsync(redisServer.ConnectionString + ",allowAdmin=true");
        var store = StoreServer.NewStore(redis, StoreServer.UniquePrefix());
        await store.CreateUser("creator", "c", UserRoles.Doctor);
        var group = StartGroup(store: store);
        Ok(await Ask<GroupResponse>(group, new CreateGroup(_groupId, "g", null, "creator", V02)));
        var probe = CreateTestProbe();
        var sends = Enumerable.Range(1, 300).Select(i => new SendMessage(_groupId, "creator", $"m {i}", $"c-{i}")).ToList();

        foreach (var send in sends.Take(150)) group.Tell(send, probe.Ref);
        // Every connection but the admin's is cut while appends are in flight; the multiplexer reconnects.
        await admin.GetServer(redisServer.ConnectionString).ExecuteAsync("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
        foreach (var send in sends.Skip(150)) group.Tell(send, probe.Ref);
        var answers = new List<Outcome<SentMessage>>();
        for (var i = 0; i < sends.Count; i++) answers.Add(await probe.ExpectMsgAsync<Outcome<SentMessage>>(AskTimeout));

        var stored = (await store.ListMessages(_groupId, new PageRequest(1, 1000))).Messages.OrderBy(m => m.Seq).ToList();
        Assert.Equal(Enumerable.Range(1, stored.Count).Select(i => (long)i), stored.Select(m => m.Seq));
        Assert.Equal(stored.Count, stored.Select(m => m.MsgContent).Distinct().Count());
        var acknowledged = answers.Where(a => a.Error is null).Select(a => a.Value!.Message).ToList();
        Assert.All(acknowledged, message => Assert.Contains(message, stored));
        Assert.All(answers.Where(a => a.Error is not null), a => Assert.Equal(ErrorCodes.ServiceUnavailable, a.Error!.Code));

        // Sent again with their client_msg_ids, as clients retry: each is stored once, whatever its first try did.
        var again = await TellAll(probe, group, sends);
        Assert.All(again, answer => Assert.Null(answer.Error));
        var after = (await store.ListMessages(_groupId, new PageRequest(1, 1000))).Messages;
        Assert.Equal(sends.Count, after.Count);
        Assert.Equal(sends.Count, after.Select(m => m.MsgContent).Distinct().Count());
    }

    [Fact]
    public async Task Should_go_on_with_the_groups_messages_while_a_stop_waits_for_the_pipeline_and_drop_the_answer_that_comes_meanwhile()
    {
        var (group, call) = await PatientAsked();
        _holdStops = true;
        var stopper = CreateTestProbe();
        group.Tell(new StopAiReply(_groupId, call.RecordId, Jwt("patient")), stopper.Ref);
        await Eventually.True(() => !_heldStops.IsEmpty, AskTimeout, "the pipeline to be told to stop");

        // The pipeline has not confirmed: the group still takes messages, and the call's late answer is not stored.
        var meanwhile = await Send(group, "doctor", "while the stop waits");
        group.Tell(new AiAnswered(_groupId, call.RecordId, call.Attempt, new AiCallResult.Answered("too late", 10)));
        Refused(ErrorCodes.InvalidState, await Ask(group, new StopAiReply(_groupId, call.RecordId, Jwt("doctor"))));
        await stopper.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));

        Assert.True(_heldStops.TryDequeue(out var held));
        held.Sender.Tell(new AiPipeline.Stopped(held.Stop.RecordId, held.Stop.Attempt));
        var stopped = Ok(await stopper.ExpectMsgAsync<Outcome<AiInteractionResponse>>(AskTimeout));

        Assert.Equal((AiRecordStatus.Failed, "4004: stopped"), (stopped.Status, stopped.ErrorMessage));
        Assert.Equal(2, meanwhile.Seq);
        Assert.Empty(await AiReplies());
    }
}
