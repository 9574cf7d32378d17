using System.Text.Json;
using Akka.Actor;
using Im.Actors.Ai;
using Im.Actors.Storage;
using Im.Contracts;
using Im.TestSupport;
using StackExchange.Redis;
using static Im.Actors.Groups.GroupCommands;
using static Im.Actors.Tests.Support.OutcomeAssert;

using Im.Actors.Tests.Support;

namespace Im.Actors.Tests;

/// <summary>
/// Review mode as the group's writer decides it: the answer is a draft only doctors see, one
/// approval (edited or not) stores the one AI_REPLY, a rejection closes the record, and neither a
/// restart nor the janitor's wake touches a draft that waits.
/// </summary>
public sealed partial class GroupActorSpecs
{
    private static readonly Caller Doctor = Caller.FromHeader("doctor");

    /// <summary>A consultation in review mode, a patient's question, and its attempt handed to the pipeline.</summary>
    private async Task<(IActorRef Group, AiPipeline.Call Call)> PatientAskedInReview()
    {
        var group = await Consultation();
        Ok(await SetAi(group, AiModes.Review, null, Doctor));
        await Send(group, "patient", "is this rash serious?");
        return (group, await _aiPipeline.ExpectMsgAsync<AiPipeline.Call>());
    }

    private async Task<(IActorRef Group, AiPipeline.Call Call)> Drafted(string draft = "probably not; keep it dry")
    {
        var (group, call) = await PatientAskedInReview();
        group.Tell(new AiAnswered(_groupId, call.RecordId, call.Attempt, new AiCallResult.Answered(draft, 1200)));
        await Eventually.True(async () => (await _store.GetRecord(call.RecordId))!.ReviewState == ReviewStates.Pending, AskTimeout,
            "the draft to be stored");
        return (group, call);
    }

    private static async Task<Pushed> NextEvent(ChannelMessageQueue events, string frameType)
    {
        using var timeout = new CancellationTokenSource(AskTimeout);
        while (true)
        {
            var pushed = Pushed.Read(await events.ReadAsync(timeout.Token));
            if (pushed.Frame.GetProperty("type").GetString() == frameType) return pushed;
        }
    }

    [Fact]
    public async Task Should_keep_the_answer_of_a_review_record_as_a_draft_that_only_doctors_see()
    {
        var (group, call) = await PatientAskedInReview();
        // The reply being written is the draft: its pieces go to the doctors only.
        Assert.Equal(["creator", "doctor"], call.Recipients.Order());
        Assert.Equal(AiModes.Review, (await _store.GetRecord(call.RecordId))!.AiMode);
        var events = await _server.Redis.GetSubscriber().SubscribeAsync(_store.Keys.GroupEvents(_groupId));

        group.Tell(new AiAnswered(_groupId, call.RecordId, call.Attempt, new AiCallResult.Answered("keep it dry", 1200)));

        var draft = await NextEvent(events, FrameTypes.AiDraft);
        Assert.Equal(["creator", "doctor"], draft.Recipients.Order());
        Assert.Equal(new AiDraftFrame(_groupId, call.RecordId, call.UserMessageId, "keep it dry"), draft.Frame.Deserialize<AiDraftFrame>(ImJson.Options));
        var inReview = await NextEvent(events, FrameTypes.AiState);
        Assert.Equal(["patient"], inReview.Recipients);
        Assert.Equal(new AiStateFrame(_groupId, call.RecordId, call.UserMessageId, AiStates.InReview), inReview.Frame.Deserialize<AiStateFrame>(ImJson.Options));
        var record = (await _store.GetRecord(call.RecordId))!;
        Assert.Equal((AiRecordStatus.Pending, ReviewStates.Pending, (string?)null), (record.Status, record.ReviewState, record.AiMessageId));
        Assert.Empty(await AiReplies());
        // No call runs for it any more: the janitor's set does not hold it.
        Assert.Empty(await _store.PendingRecordIds());
        await events.UnsubscribeAsync();
    }

    [Fact]
    public async Task Should_store_one_reply_for_the_first_approval_and_refuse_every_later_decision()
    {
        var (group, call) = await Drafted("keep it dry");
        var draft = Ok(await Ask(group, new GetDraft(_groupId, call.RecordId, Doctor)));
        Assert.Equal(("keep it dry", call.UserMessageId), (draft.Content, draft.UserMessageId));

        var reply = Ok(await Ask(group, new ApproveDraft(_groupId, call.RecordId, "Keep it dry and show it to me tomorrow.", Doctor)));

        Assert.Equal((MessageTypes.AiReply, "Keep it dry and show it to me tomorrow."), (reply.MsgType, reply.MsgContent));
        var record = (await _store.GetRecord(call.RecordId))!;
        Assert.Equal((AiRecordStatus.Succeeded, ReviewStates.Approved, "doctor", (bool?)true, reply.MessageId),
            (record.Status, record.ReviewState, record.ReviewedBy, record.Edited, record.AiMessageId));
        Refused(ErrorCodes.InvalidState, await Ask(group, new ApproveDraft(_groupId, call.RecordId, null, Admin)));
        Refused(ErrorCodes.InvalidState, await Ask(group, new RejectDraft(_groupId, call.RecordId, Doctor)));
        Refused(ErrorCodes.InvalidState, await Ask(group, new GetDraft(_groupId, call.RecordId, Doctor)));
        Assert.Single(await AiReplies());
    }

    [Fact]
    public async Task Should_give_exactly_one_outcome_when_approvals_and_a_rejection_race()
    {
        var (group, call) = await Drafted();
        var decisions = await Task.WhenAll(
            Ask(group, new ApproveDraft(_groupId, call.RecordId, null, Doctor)),
            Ask(group, new ApproveDraft(_groupId, call.RecordId, null, Admin)),
            Ask(group, new ApproveDraft(_groupId, call.RecordId, "an edit", Caller.FromHeader("creator"))));
        var rejection = await Ask(group, new RejectDraft(_groupId, call.RecordId, Doctor));

        Assert.Single(decisions, d => d.Error is null);
        Assert.All(decisions.Where(d => d.Error is not null), d => Assert.Equal(ErrorCodes.InvalidState, d.Error!.Code));
        Refused(ErrorCodes.InvalidState, rejection);
        Assert.Single(await AiReplies());
        // Unedited, the stored reply is the draft and the record says so.
        var record = (await _store.GetRecord(call.RecordId))!;
        Assert.Equal(ReviewStates.Approved, record.ReviewState);
    }

    [Fact]
    public async Task Should_reject_a_draft_tell_everyone_and_let_a_doctor_retry_it()
    {
        var (group, call) = await Drafted();
        var events = await _server.Redis.GetSubscriber().SubscribeAsync(_store.Keys.GroupEvents(_groupId));

        var record = Ok(await Ask(group, new RejectDraft(_groupId, call.RecordId, Doctor)));

        Assert.Equal((AiRecordStatus.Failed, "4005: rejected", ReviewStates.Rejected, "doctor"),
            (record.Status, record.ErrorMessage, record.ReviewState, record.ReviewedBy));
        var rejected = await NextEvent(events, FrameTypes.AiState);
        Assert.Equal(["creator", "doctor", "patient"], rejected.Recipients.Order());
        Assert.Equal(new AiStateFrame(_groupId, call.RecordId, call.UserMessageId, AiStates.Rejected, ErrorCodes.AiRejected),
            rejected.Frame.Deserialize<AiStateFrame>(ImJson.Options));
        Assert.Empty(await AiReplies());

        var retried = Ok(await Ask(group, new RetryAiReply(_groupId, call.RecordId, Doctor)));
        Assert.Equal((AiRecordStatus.Pending, 2, (string?)null, (string?)null), (retried.Status, retried.Attempts, retried.ReviewState, retried.ReviewedBy));
        var again = await _aiPipeline.ExpectMsgAsync<AiPipeline.Call>();
        Assert.Equal((call.RecordId, 2), (again.RecordId, again.Attempt));
        await events.UnsubscribeAsync();
    }

    [Fact]
    public async Task Should_refuse_a_review_in_the_documented_order()
    {
        var (group, call) = await Drafted();
        Refused(ErrorCodes.RecordNotFound, await Ask(group, new ApproveDraft(_groupId, "record_20250101000000_unknown1", null, Doctor)));
        Refused(ErrorCodes.Forbidden, await Ask(group, new ApproveDraft(_groupId, call.RecordId, null, Caller.FromHeader("patient"))));
        Refused(ErrorCodes.Forbidden, await Ask(group, new RejectDraft(_groupId, call.RecordId, Caller.FromHeader("stranger"))));
        // A patient never reads a draft, not even the one answering their own question.
        Refused(ErrorCodes.Forbidden, await Ask(group, new GetDraft(_groupId, call.RecordId, Caller.FromHeader("patient"))));
        // A pending draft is rejected, not stopped.
        Refused(ErrorCodes.InvalidState, await Ask(group, new StopAiReply(_groupId, call.RecordId, Doctor)));
        Assert.Equal(ReviewStates.Pending, (await _store.GetRecord(call.RecordId))!.ReviewState);

        // A record of auto mode has no draft to review.
        Ok(await SetAi(group, AiModes.Auto, null, Doctor));
        await Send(group, "patient", "and another question");
        var auto = await _aiPipeline.ExpectMsgAsync<AiPipeline.Call>();
        Refused(ErrorCodes.InvalidState, await Ask(group, new ApproveDraft(_groupId, auto.RecordId, null, Doctor)));
        // Its answer is a reply at once, while the older draft still waits.
        await Answer(group, auto, "an answer");
        Assert.Equal(ReviewStates.Pending, (await _store.GetRecord(call.RecordId))!.ReviewState);
    }

    [Fact]
    public async Task Should_leave_a_waiting_draft_alone_when_a_writer_starts_or_is_woken()
    {
        var (group, call) = await Drafted("the draft");
        group = await Restarted(group);
        group.Tell(new WakeForOrphanedRecords(_groupId));
        // A message after the wake is handled after it.
        await Send(group, "doctor", "barrier");

        var record = (await _store.GetRecord(call.RecordId))!;
        Assert.Equal((AiRecordStatus.Pending, ReviewStates.Pending), (record.Status, record.ReviewState));
        Assert.Equal("the draft", Ok(await Ask(group, new ApproveDraft(_groupId, call.RecordId, null, Doctor))).MsgContent);
        Assert.Equal((bool?)false, (await _store.GetRecord(call.RecordId))!.Edited);
    }
}
