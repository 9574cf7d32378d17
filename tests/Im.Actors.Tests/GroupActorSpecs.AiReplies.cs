using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Im.Actors.Ai;
using Im.Actors.Groups;
using Im.Actors.Storage;
using Im.Contracts;
using Im.TestSupport;
using StackExchange.Redis;
using static Im.Actors.Groups.GroupCommands;
using static Im.Actors.Tests.Support.OutcomeAssert;

using Im.Actors.Tests.Support;

namespace Im.Actors.Tests;

/// <summary>
/// The life of an AI record, as its group's writer decides it (GroupActor.AiReplies.cs): the probe
/// stands in for the node's pipeline, and each spec tells the writer how an attempt ended, as the
/// pipeline would, in the orders that matter.
/// </summary>
public sealed partial class GroupActorSpecs
{
    /// <summary>Tells the writer an attempt was answered, as the pipeline does, and returns the reply it stored.</summary>
    private async Task<MessageResponse> Answer(IActorRef group, AiPipeline.Call call, string content, long durationMs = 10)
    {
        group.Tell(new AiAnswered(_groupId, call.RecordId, call.Attempt, new AiCallResult.Answered(content, durationMs)));
        var record = await ClosedRecord(call.RecordId);
        Assert.Equal(AiRecordStatus.Succeeded, record.Status);
        return (await _store.GetMessage(record.AiMessageId!))!;
    }

    private async Task<AiInteractionResponse> ClosedRecord(string recordId)
    {
        AiInteractionResponse? record = null;
        await Eventually.True(async () => (record = await _store.GetRecord(recordId))!.Status != AiRecordStatus.Pending, AskTimeout,
            $"record {recordId} to close");
        return record!;
    }

    private async Task<List<MessageResponse>> AiReplies() =>
        [.. (await _store.ListMessages(_groupId, new PageRequest(1, 100))).Messages.Where(m => m.MsgType == MessageTypes.AiReply)];

    private async Task<(IActorRef Group, AiPipeline.Call Call)> PatientAsked(string content = "我头疼")
    {
        var group = await GroupWith(("patient", UserRoles.Patient, UserRoles.Patient), ("doctor", UserRoles.Doctor, UserRoles.Doctor));
        await Send(group, "patient", content);
        return (group, await _aiPipeline.ExpectMsgAsync<AiPipeline.Call>());
    }

    /// <summary>The next event's frame of the given type, skipping others (message frames, other records' states).</summary>
    private static async Task<T> NextFrame<T>(ChannelMessageQueue events, string type, Func<T, bool>? matching = null)
    {
        using var timeout = new CancellationTokenSource(AskTimeout);
        while (true)
        {
            var message = await events.ReadAsync(timeout.Token);
            var pushed = Pushed.Read(message);
            if (pushed.Frame.GetProperty("type").GetString() != type) continue;
            var frame = pushed.Frame.Deserialize<T>(ImJson.Options)!;
            if (matching is null || matching(frame)) return frame;
        }
    }

    private void DrainStops()
    {
        while (_aiPipeline.HasMessages) _aiPipeline.ReceiveOne(TimeSpan.Zero);
    }

    [Fact]
    public async Task Should_open_a_record_with_its_provenance_and_hand_the_attempt_to_the_pipeline()
    {
        var group = await GroupWith(("patient", UserRoles.Patient, UserRoles.Patient));
        for (var i = 0; i < 25; i++) await Send(group, "creator", $"m{i}");

        var question = await Send(group, "patient", "我头疼");

        var call = await _aiPipeline.ExpectMsgAsync<AiPipeline.Call>();
        // The context is the last ContextMessages (20) messages, ending with the patient's.
        Assert.Equal((_groupId, question.MessageId, 1, 7L, 26L), (call.GroupId, call.UserMessageId, call.Attempt, call.ContextFromSeq, call.ContextToSeq));
        Assert.Equal(["creator", "patient"], call.Recipients.Order());
        var record = await _store.GetRecord(call.RecordId);
        Assert.Equal((AiRecordStatus.Pending, "stand-in", 7L, 26L, 1, AiModes.Auto, (string?)null),
            (record!.Status, record.Model, record.ContextFromSeq, record.ContextToSeq, record.Attempts, record.AiMode, record.ReviewState));
    }

    [Fact]
    public async Task Should_store_an_answer_as_the_ai_reply_and_publish_it_then_done()
    {
        var (group, call) = await PatientAsked();
        var events = await _server.Redis.GetSubscriber().SubscribeAsync(_store.Keys.GroupEvents(_groupId));

        var reply = await Answer(group, call, "请多休息", durationMs: 900);

        Assert.Equal((AssistantId, "请多休息", 2L), (reply.FromUserId, reply.MsgContent, reply.Seq));
        Assert.Equal(AiReplyFrame.From(reply, call.UserMessageId), await NextFrame<AiReplyFrame>(events, FrameTypes.AiReply));
        Assert.Equal(new AiStateFrame(_groupId, call.RecordId, call.UserMessageId, AiStates.Done), await NextFrame<AiStateFrame>(events, FrameTypes.AiState));
        Assert.Equal(900L, (await _store.GetRecord(call.RecordId))!.DurationMs);
        await events.UnsubscribeAsync();
    }

    [Theory]
    [InlineData(ErrorCodes.AiCallFailed, "AI service answered HTTP 500")]
    [InlineData(ErrorCodes.AiTimeout, "no answer within 2 s")]
    [InlineData(ErrorCodes.AiBadResponse, "answer is not JSON")]
    public async Task Should_close_a_failed_attempt_with_its_code_and_say_failed(string code, string reason)
    {
        var (group, call) = await PatientAsked();
        var events = await _server.Redis.GetSubscriber().SubscribeAsync(_store.Keys.GroupEvents(_groupId));

        group.Tell(new AiAnswered(_groupId, call.RecordId, 1, new AiCallResult.Failed(code, reason, 1500)));

        var record = await ClosedRecord(call.RecordId);
        Assert.Equal((AiRecordStatus.Failed, $"{code}: {reason}", 1500L, (string?)null),
            (record.Status, record.ErrorMessage, record.DurationMs, record.AiMessageId));
        Assert.Equal(new AiStateFrame(_groupId, call.RecordId, call.UserMessageId, AiStates.Failed, code),
            await NextFrame<AiStateFrame>(events, FrameTypes.AiState));
        Assert.Empty(await AiReplies());
        Assert.Empty(await _store.PendingRecordIds());
        await events.UnsubscribeAsync();
    }

    [Fact]
    public async Task Should_ignore_the_end_of_an_attempt_that_is_not_the_open_one()
    {
        var (group, call) = await PatientAsked();

        group.Tell(new AiAnswered(_groupId, call.RecordId, 2, new AiCallResult.Answered("from a later attempt", 1)));
        group.Tell(new AiAnswered(_groupId, "record_20250101000000_unknown1", 1, new AiCallResult.Answered("for nothing", 1)));
        var reply = await Answer(group, call, "the open attempt's");
        group.Tell(new AiAnswered(_groupId, call.RecordId, 1, new AiCallResult.Answered("the same attempt again", 1)));
        group.Tell(new AiAnswered(_groupId, call.RecordId, 1, new AiCallResult.Failed(ErrorCodes.AiCallFailed, "late failure", 1)));

        // A later command is served only after the writer dealt with everything before it.
        await Send(group, "creator", "after");
        Assert.Equal([reply], await AiReplies());
        Assert.Equal(AiRecordStatus.Succeeded, (await _store.GetRecord(call.RecordId))!.Status);
    }

    // ---- stop ----

    [Fact]
    public async Task Should_stop_a_reply_for_the_patient_who_asked_cancelling_the_call_first()
    {
        var (group, call) = await PatientAsked();
        var events = await _server.Redis.GetSubscriber().SubscribeAsync(_store.Keys.GroupEvents(_groupId));

        var stopped = Ok(await Ask(group, new StopAiReply(_groupId, call.RecordId, Jwt("patient"))));

        Assert.Equal((AiRecordStatus.Failed, "4004: stopped", 1), (stopped.Status, stopped.ErrorMessage, stopped.Attempts));
        Assert.Equal(new AiPipeline.Stop(call.RecordId, 1), await _aiPipeline.ExpectMsgAsync<AiPipeline.Stop>());
        Assert.Equal(new AiStateFrame(_groupId, call.RecordId, call.UserMessageId, AiStates.Stopped),
            await NextFrame<AiStateFrame>(events, FrameTypes.AiState));
        // The call finished as the stop came in: the stop decided, so nothing is stored.
        group.Tell(new AiAnswered(_groupId, call.RecordId, 1, new AiCallResult.Answered("too late", 1)));
        await Send(group, "creator", "after");
        Assert.Empty(await AiReplies());
        Assert.Equal(stopped, await _store.GetRecord(call.RecordId));
        await events.UnsubscribeAsync();
    }

    [Fact]
    public async Task Should_let_a_doctor_member_and_an_admin_stop_a_reply_too()
    {
        var (group, call) = await PatientAsked();
        await Send(group, "patient", "second question");
        var second = await _aiPipeline.ExpectMsgAsync<AiPipeline.Call>();

        Assert.Equal("4004: stopped", Ok(await Ask(group, new StopAiReply(_groupId, call.RecordId, Jwt("doctor")))).ErrorMessage);
        Assert.Equal("4004: stopped", Ok(await Ask(group, new StopAiReply(_groupId, second.RecordId, Admin))).ErrorMessage);
    }

    [Fact]
    public async Task Should_refuse_a_stop_in_the_documented_order()
    {
        var (group, call) = await PatientAsked();
        await _store.CreateUser("other_patient", "o", UserRoles.Patient);
        Ok(await Ask(group, new AddMember(_groupId, "other_patient", UserRoles.Patient, V02)));
        await _store.CreateUser("outsider", "x", UserRoles.Doctor);

        Refused(ErrorCodes.RecordNotFound, await Ask(group, new StopAiReply(_groupId, "record_20250101000000_unknown1", Admin)));
        Refused(ErrorCodes.Forbidden, await Ask(group, new StopAiReply(_groupId, call.RecordId, Jwt("other_patient"))));
        Refused(ErrorCodes.Forbidden, await Ask(group, new StopAiReply(_groupId, call.RecordId, Jwt("outsider"))));
        // Header mode follows the table too: AI control is new.
        Refused(ErrorCodes.Forbidden, await Ask(group, new StopAiReply(_groupId, call.RecordId, Caller.FromHeader("other_patient"))));
        await Answer(group, call, "done");
        Refused(ErrorCodes.Forbidden, await Ask(group, new StopAiReply(_groupId, call.RecordId, Jwt("outsider"))));
        Refused(ErrorCodes.InvalidState, await Ask(group, new StopAiReply(_groupId, call.RecordId, Jwt("patient"))));
        await _aiPipeline.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task Should_refuse_a_stop_by_the_patient_who_asked_once_removed()
    {
        var (group, call) = await PatientAsked();

        Ok(await Ask<SuccessResponse>(group, new RemoveMember(_groupId, "patient", Jwt("doctor"))));

        Refused(ErrorCodes.Forbidden, await Ask(group, new StopAiReply(_groupId, call.RecordId, Jwt("patient"))));
    }

    [Fact]
    public async Task Should_refuse_a_record_of_another_group_as_unknown()
    {
        var (_, call) = await PatientAsked();
        var otherId = Ids.NewGroupId(DateTimeOffset.UtcNow);
        Assert.NotNull(await _store.CreateGroup(otherId, "other", null, "creator"));
        var other = StartGroup(otherId);

        Refused(ErrorCodes.RecordNotFound, await Ask(other, new StopAiReply(otherId, call.RecordId, Admin)));
        Refused(ErrorCodes.RecordNotFound, await Ask(other, new RetryAiReply(otherId, call.RecordId, Admin)));
    }

    [Fact]
    public async Task Should_give_exactly_one_outcome_when_a_stop_races_the_answer()
    {
        var (group, _) = await PatientAsked("warm-up");
        DrainStops();
        var outcomes = new List<(bool Stopped, int Replies)>();
        for (var i = 0; i < 12; i++)
        {
            await Send(group, "patient", $"q{i}");
            var call = await _aiPipeline.ExpectMsgAsync<AiPipeline.Call>();
            var repliesBefore = (await AiReplies()).Count;

            // Both at once: whichever reaches the writer first decides.
            var stop = Ask(group, new StopAiReply(_groupId, call.RecordId, Jwt("patient")));
            group.Tell(new AiAnswered(_groupId, call.RecordId, 1, new AiCallResult.Answered($"a{i}", 1)));
            var stopOutcome = await stop;

            var record = await ClosedRecord(call.RecordId);
            await Send(group, "creator", "barrier");
            var replies = (await AiReplies()).Count - repliesBefore;
            if (stopOutcome.Error is null)
            {
                Assert.Equal(("4004: stopped", 0), (record.ErrorMessage, replies));
            }
            else
            {
                Assert.Equal(ErrorCodes.InvalidState, stopOutcome.Error.Code);
                Assert.Equal((AiRecordStatus.Succeeded, 1), (record.Status, replies));
            }
            outcomes.Add((stopOutcome.Error is null, replies));
            DrainStops();
        }
        Assert.All(outcomes, o => Assert.Equal(o.Stopped ? 0 : 1, o.Replies));
    }

    // ---- retry ----

    [Fact]
    public async Task Should_retry_a_failed_record_as_its_next_attempt_on_the_same_context()
    {
        var (group, call) = await PatientAsked();
        group.Tell(new AiAnswered(_groupId, call.RecordId, 1, new AiCallResult.Failed(ErrorCodes.AiTimeout, "no answer", 2000)));
        await ClosedRecord(call.RecordId);
        await Send(group, "creator", "written after the question");
        var events = await _server.Redis.GetSubscriber().SubscribeAsync(_store.Keys.GroupEvents(_groupId));

        var retried = Ok(await Ask(group, new RetryAiReply(_groupId, call.RecordId, Jwt("doctor"))));

        Assert.Equal((AiRecordStatus.Pending, 2, (string?)null, (long?)null, call.ContextFromSeq, call.ContextToSeq),
            (retried.Status, retried.Attempts, retried.ErrorMessage, retried.DurationMs, retried.ContextFromSeq, retried.ContextToSeq));
        var again = await _aiPipeline.ExpectMsgAsync<AiPipeline.Call>();
        Assert.Equal(call with { Attempt = 2, Recipients = again.Recipients }, again);
        Assert.Equal(new AiStateFrame(_groupId, call.RecordId, call.UserMessageId, AiStates.Thinking), await NextFrame<AiStateFrame>(events, FrameTypes.AiState));
        // The first attempt's late answer is not the open one's.
        group.Tell(new AiAnswered(_groupId, call.RecordId, 1, new AiCallResult.Answered("attempt one", 1)));
        var reply = await Answer(group, again, "attempt two");
        Assert.Equal([reply], await AiReplies());
        var record = (await _store.GetRecord(call.RecordId))!;
        Assert.Equal((AiRecordStatus.Succeeded, 2, reply.MessageId), (record.Status, record.Attempts, record.AiMessageId));
        await events.UnsubscribeAsync();
    }

    [Fact]
    public async Task Should_retry_a_stopped_record_and_let_an_admin_retry()
    {
        var (group, call) = await PatientAsked();
        Ok(await Ask(group, new StopAiReply(_groupId, call.RecordId, Jwt("patient"))));

        Assert.Equal(2, Ok(await Ask(group, new RetryAiReply(_groupId, call.RecordId, Admin))).Attempts);
        Assert.Equal(2, (await _aiPipeline.FishForMessageAsync<AiPipeline.Call>(_ => true)).Attempt);
    }

    [Fact]
    public async Task Should_refuse_a_retry_in_the_documented_order()
    {
        var (group, call) = await PatientAsked();

        Refused(ErrorCodes.RecordNotFound, await Ask(group, new RetryAiReply(_groupId, "record_20250101000000_unknown1", Jwt("patient"))));
        Refused(ErrorCodes.Forbidden, await Ask(group, new RetryAiReply(_groupId, call.RecordId, Jwt("patient"))));
        Refused(ErrorCodes.Forbidden, await Ask(group, new RetryAiReply(_groupId, call.RecordId, Caller.FromHeader("patient"))));
        Refused(ErrorCodes.InvalidState, await Ask(group, new RetryAiReply(_groupId, call.RecordId, Jwt("doctor"))));
        await Answer(group, call, "fine");
        Refused(ErrorCodes.InvalidState, await Ask(group, new RetryAiReply(_groupId, call.RecordId, Jwt("doctor"))));
        await _aiPipeline.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    // ---- a writer that starts or stops with records open ----

    [Fact]
    public async Task Should_close_records_left_open_as_interrupted_when_a_writer_starts()
    {
        var (group, call) = await PatientAsked();
        // The writer dies without its hand-over (its node crashed): the record stays open in the store.
        var entity = await Sys.ActorSelection(group.Path / "entity").ResolveOne(AskTimeout);
        Watch(entity);
        Sys.Stop(entity);
        await ExpectTerminatedAsync(entity, AskTimeout);
        Assert.Equal(AiRecordStatus.Pending, (await _store.GetRecord(call.RecordId))!.Status);
        var events = await _server.Redis.GetSubscriber().SubscribeAsync(_store.Keys.GroupEvents(_groupId));

        var restarted = StartGroup();
        restarted.Tell(new WakeForOrphanedRecords(_groupId));

        var record = await ClosedRecord(call.RecordId);
        Assert.Equal((AiRecordStatus.Failed, AiPipelineActor.Interrupted), (record.Status, record.ErrorMessage));
        Assert.Equal(new AiStateFrame(_groupId, call.RecordId, call.UserMessageId, AiStates.Failed, ErrorCodes.AiCallFailed),
            await NextFrame<AiStateFrame>(events, FrameTypes.AiState));
        Assert.Equal(new AiPipeline.Stop(call.RecordId, 1), await _aiPipeline.ExpectMsgAsync<AiPipeline.Stop>());
        // The dead writer's attempt may still answer: nothing is stored.
        restarted.Tell(new AiAnswered(_groupId, call.RecordId, 1, new AiCallResult.Answered("from the dead", 1)));
        await Send(restarted, "creator", "barrier");
        Assert.Empty(await AiReplies());
        Assert.Empty(await _store.PendingRecordIds());
        await events.UnsubscribeAsync();
    }

    [Fact]
    public async Task Should_close_only_the_records_an_earlier_writer_left_open_when_woken_while_running()
    {
        var (group, running) = await PatientAsked();
        // A record an earlier writer opened on a node that died, which this writer did not close at its start.
        var left = (await _store.Append(new NewMessage(_groupId, "patient", MessageTypes.Text, "an older question", ["patient", "doctor"],
            null, new AiRecordChange.Open("http://ai", "UniqueAddress: (akka.tcp://im@127.0.0.1:1, 42)", "stand-in", 20, AiModes.Auto)))).Value!;
        var leftId = left.OpenedRecord!.RecordId;

        group.Tell(new WakeForOrphanedRecords(_groupId));

        var record = await ClosedRecord(leftId);
        Assert.Equal((AiRecordStatus.Failed, AiPipelineActor.Interrupted), (record.Status, record.ErrorMessage));
        Assert.Equal(new AiPipeline.Stop(leftId, 1), await _aiPipeline.ExpectMsgAsync<AiPipeline.Stop>());
        // The writer's own call runs on and is answered.
        Assert.Equal(AiRecordStatus.Pending, (await _store.GetRecord(running.RecordId))!.Status);
        Assert.Equal("an answer", (await Answer(group, running, "an answer")).MsgContent);
    }

    [Fact]
    public async Task Should_close_its_open_records_before_stopping_on_a_hand_over()
    {
        var (group, call) = await PatientAsked();
        var entity = await Sys.ActorSelection(group.Path / "entity").ResolveOne(AskTimeout);
        Watch(entity);

        group.Tell(StopEntity.Instance);

        await ExpectTerminatedAsync(entity, AskTimeout);
        var record = (await _store.GetRecord(call.RecordId))!;
        Assert.Equal((AiRecordStatus.Failed, AiPipelineActor.Interrupted), (record.Status, record.ErrorMessage));
        Assert.Equal(new AiPipeline.Stop(call.RecordId, 1), await _aiPipeline.ExpectMsgAsync<AiPipeline.Stop>());
    }

    [Fact]
    public async Task Should_not_passivate_while_a_reply_is_being_written()
    {
        await _store.CreateUser("creator", "c", UserRoles.Doctor);
        await _store.CreateUser("patient", "p", UserRoles.Patient);
        await _store.CreateGroup(_groupId, "g", null, "creator");
        await _store.AddMember(_groupId, "patient", UserRoles.Patient);
        var group = StartGroup(passivateAfter: TimeSpan.FromMilliseconds(200));
        await Send(group, "patient", "q");
        var call = await _aiPipeline.ExpectMsgAsync<AiPipeline.Call>();

        await _shard.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(700));
        await Answer(group, call, "a");

        Assert.IsType<StopEntity>((await _shard.ExpectMsgAsync<Passivate>(AskTimeout)).StopMessage);
    }
}
