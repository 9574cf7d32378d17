using Akka.Actor;
using Akka.Event;
using Im.Actors.Ai;
using Im.Actors.Events;
using Im.Actors.Storage;
using Im.Contracts;
using static Im.Actors.Groups.GroupCommands;

namespace Im.Actors.Groups;

/// <summary>
/// The whole life of an AI interaction record. The group's writer makes every transition, and each
/// is one atomic store step that also publishes what the group's clients see:
/// <code>
/// patient's message ─append─▶ open: status 0, attempt 1 ───────────────────────── ai_state thinking
///   the node's AiPipelineActor calls the AI service (ai_state generating, ai_delta …; in review to doctors only), then:
///   ├─ AiAnswered, an answer ─append the reply─▶ status 1 ──────────── ai_reply, ai_state done
///   ├─ AiAnswered, an answer, review mode ─keep the draft─▶ status 0, review pending ── ai_draft to doctors,
///   │    │                                                                              ai_state in_review to the others
///   │    ├─ ApproveDraft ─append the reply (or the doctor's edit)─▶ status 1, approved ─ ai_reply, ai_state done
///   │    └─ RejectDraft ─close─▶ status 2, "4005: rejected" ────────────────────────── ai_state rejected
///   ├─ AiAnswered, a failure ─close─▶ status 2, "4001|4002|4003: …" ─────── ai_state failed
///   ├─ StopAiReply ─cancel the call, close─▶ status 2, "4004: stopped" ──── ai_state stopped
///   └─ its node died (the next writer closes it on start or when woken), or a hand-over ─close─▶ "4001: interrupted"
/// failed, stopped or rejected ─RetryAiReply, reopen─▶ open: status 0, attempt + 1, the same context ─ thinking
/// </code>
/// A reply or a close names the attempt it belongs to, and the store changes nothing once that
/// attempt is not the open one: a late answer of a stopped or interrupted attempt is dropped, so a
/// patient's message never gets two replies. An approval or a rejection takes only a draft still
/// pending. A writer keeps every record whose call it runs until it is closed, and does not
/// passivate meanwhile; a waiting draft runs no call, so it holds no writer and no node.
/// </summary>
public sealed partial class GroupActor
{
    public const string Stopped = $"{ErrorCodes.AiStopped}: stopped";

    private readonly Dictionary<string, PendingStop> _stopping = new(StringComparer.Ordinal);

    /// <summary>How often a reply or a close is tried while the store is down, before the record is left to the next start.</summary>
    private const int FinishTries = 5;

    /// <summary>The pipeline runs on this node and answers a stop at once; past this the record is closed without its word.</summary>
    private static readonly TimeSpan PipelineStopTimeout = TimeSpan.FromSeconds(5);

    private void ReceiveAiReplies()
    {
        Receive<StopAiReply>(StopReply);
        Receive<StopChecked>(StopWhenChecked);
        Receive<StopCheckFailed>(failed => failed.ReplyTo.Tell(((IRefusable)failed.Command).Refuse(Errors.For(failed.Cause))));
        Receive<AiPipeline.Stopped>(stopped => CloseStopped(stopped.RecordId, confirmed: true));
        Receive<PipelineStopTimedOut>(timedOut => CloseStopped(timedOut.RecordId, confirmed: false));
        Receive<RetryAiReply>(RetryReply);
        Receive<ApproveDraft>(Approve);
        Receive<RejectDraft>(Reject);
        Receive<GetDraft>(command => DraftFor(command, _state).PipeTo(Sender));
        Receive<AiAnswered>(answered => Finish(new FinishAttempt(answered, 1)));
        Receive<FinishAttempt>(Finish);
        Receive<WakeForOrphanedRecords>(_ =>
        {
            if (!_state.Exists) Passivate();
            else InterruptRecordsLeftOpen();
        });
    }

    private void StartAttempt(OpenAiRecord record)
    {
        _state = _state.WithOpenRecord(record);
        // In review, the reply being written is a draft: only doctors see it come.
        var watchers = record.AiMode == AiModes.Review ? _state.Doctors() : _state.Recipients();
        _aiPipeline.Tell(new AiPipeline.Call(_groupId, record.RecordId, record.Attempt, record.UserMessageId,
            record.ContextFromSeq, record.ContextToSeq, watchers));
    }

    private void Finish(FinishAttempt finish)
    {
        var answered = finish.Answered;
        if (_state.OpenAttempt(answered.RecordId, answered.Attempt) is not { } open)
        {
            Log.Debug("Ignored the end of attempt {0} of record {1}: it is no longer open", answered.Attempt, answered.RecordId);
            return;
        }
        var state = _state;
        var recipients = state.Recipients();
        RunWrite(finish, async () =>
        {
            switch (answered.Result)
            {
                case AiCallResult.Answered answer when open.AiMode == AiModes.Review:
                    var doctors = state.Doctors();
                    await _store.StoreDraft(_groupId, open.RecordId, open.UserMessageId, open.ContextToSeq, open.Attempt, answer.Content,
                        answer.DurationMs, doctors, recipients.Except(doctors));
                    return new WriteResult(null, () => _state = _state.WithoutOpenRecord(open.RecordId));
                case AiCallResult.Answered answer:
                    var reply = new NewMessage(_groupId, _settings.AssistantUserId, MessageTypes.AiReply, answer.Content, recipients, null,
                        new AiRecordChange.Complete(open.RecordId, open.UserMessageId, answer.DurationMs, open.Attempt));
                    var appended = await _store.AppendMessage(await WithIds(reply));
                    return new WriteResult(null, () =>
                    {
                        if (appended.Error is null) _settings.Metrics.MessageStored(MessageTypes.AiReply);
                        _state = _state.WithoutOpenRecord(open.RecordId);
                    });
                case AiCallResult.Failed failed:
                    await _store.CloseRecord(open.RecordId, open.Attempt, failed.ErrorMessage, failed.DurationMs,
                        StateOf(open, recipients, AiStates.Failed, failed.Code));
                    return new WriteResult(null, () => _state = _state.WithoutOpenRecord(open.RecordId));
                default:
                    throw new InvalidOperationException($"unknown AI result {answered.Result.GetType().Name}");
            }
        });
    }

    /// <summary>The store was down as an attempt ended: try again, and in the end leave the record to the next start.</summary>
    protected override void UnansweredWriteFailed(object command)
    {
        if (command is not FinishAttempt finish) return;
        if (finish.Tries < FinishTries)
        {
            Timers.StartSingleTimer(finish.Answered.RecordId, finish with { Tries = finish.Tries + 1 }, TimeSpan.FromSeconds(finish.Tries));
            return;
        }
        Log.Error("Gave up storing the end of AI record {0} after {1} tries; it is closed as interrupted when group {2} next starts",
            finish.Answered.RecordId, finish.Tries, _groupId);
        _state = _state.WithoutOpenRecord(finish.Answered.RecordId);
    }

    /// <summary>
    /// A stop is decided against the stored record and the writer's open attempts, then waits for the
    /// node's pipeline to confirm that the attempt publishes nothing more, so that no piece follows the
    /// close. The writer goes on with the group's other commands meanwhile; from the decision on, the
    /// attempt is no longer open to it, so an answer that comes in the meantime is dropped (the stop
    /// wins) and a second stop is refused.
    /// </summary>
    private void StopReply(StopAiReply command)
    {
        var replyTo = Sender;
        _store.GetStoredRecord(_groupId, command.RecordId).PipeTo(Self,
            success: stored => new StopChecked(command, replyTo, stored),
            failure: ex => new StopCheckFailed(command, replyTo, ex));
    }

    private void StopWhenChecked(StopChecked check)
    {
        if (_state.DecideStop(check.Stored, check.Command.Caller) is { } refused)
        {
            check.ReplyTo.Tell(Outcome<AiInteractionResponse>.Fail(refused));
            return;
        }
        var open = _state.OpenRecords[check.Command.RecordId];
        _state = _state.WithoutOpenRecord(open.RecordId);
        _stopping[open.RecordId] = new PendingStop(check.Command, check.ReplyTo, open);
        _aiPipeline.Tell(new AiPipeline.Stop(open.RecordId, open.Attempt));
        Timers.StartSingleTimer(StopTimer(open.RecordId), new PipelineStopTimedOut(open.RecordId), PipelineStopTimeout);
    }

    private void CloseStopped(string recordId, bool confirmed)
    {
        if (!_stopping.Remove(recordId, out var pending)) return;
        Timers.Cancel(StopTimer(recordId));
        if (!confirmed) Log.Warning("The AI pipeline did not confirm stopping record {0} in time; closing it anyway", recordId);
        var open = pending.Open;
        var recipients = _state.Recipients();
        RunWrite(pending.Command, pending.ReplyTo, async () =>
        {
            await _store.CloseRecord(open.RecordId, open.Attempt, Stopped, null, StateOf(open, recipients, AiStates.Stopped));
            var record = await _store.GetRecord(open.RecordId);
            return new WriteResult(Outcome<AiInteractionResponse>.Ok(record!));
        });
    }

    private static string StopTimer(string recordId) => "stop " + recordId;

    private void RetryReply(RetryAiReply command)
    {
        var state = _state;
        RunWrite(command, async () =>
        {
            var stored = await _store.GetStoredRecord(_groupId, command.RecordId);
            if (state.DecideRetry(stored, command.Caller) is { } refused) return new WriteResult(Outcome<AiInteractionResponse>.Fail(refused));
            var record = stored!.Record;
            var attempt = await _store.ReopenRecord(_groupId, record.RecordId, record.UserMessageId, record.ContextToSeq ?? 0, _settings.Node,
                state.AiMode, state.Recipients());
            if (attempt is not { } reopened)
                return new WriteResult(Outcome<AiInteractionResponse>.Fail(Errors.InvalidState("the record is no longer failed or stopped")));
            var open = new OpenAiRecord(record.RecordId, record.UserMessageId, stored.AskedBy, reopened,
                record.ContextFromSeq!.Value, record.ContextToSeq!.Value, state.AiMode);
            var after = await _store.GetRecord(record.RecordId);
            return new WriteResult(Outcome<AiInteractionResponse>.Ok(after!), () => StartAttempt(open));
        });
    }

    /// <summary>
    /// Review mode: a doctor's approval stores the draft (or the doctor's edit of it) as the one
    /// AI_REPLY, pushed to everyone; the store's step takes only a draft still pending, so of two
    /// approvals, or an approval and a rejection, exactly one wins.
    /// </summary>
    private void Approve(ApproveDraft command)
    {
        var state = _state;
        RunWrite(command, async () =>
        {
            var stored = await _store.GetStoredRecord(_groupId, command.RecordId);
            if (state.DecideReview(stored, command.Caller) is { } refused) return new WriteResult(Outcome<MessageResponse>.Fail(refused));
            var draft = stored!.Draft!;
            var content = command.Content ?? draft.Content;
            var reply = new NewMessage(_groupId, _settings.AssistantUserId, MessageTypes.AiReply, content, state.Recipients(), null,
                new AiRecordChange.Complete(draft.RecordId, draft.UserMessageId, stored.Record.DurationMs ?? 0, stored.Record.Attempts,
                    command.Caller.UserId ?? "", Edited: content != draft.Content));
            var appended = await _store.AppendMessage(await WithIds(reply));
            if (appended.Error is not null) return new WriteResult(Outcome<MessageResponse>.Fail(Errors.InvalidState("the draft is no longer pending")));
            return new WriteResult(Outcome<MessageResponse>.Ok(appended.Value!.Message),
                () => _settings.Metrics.MessageStored(MessageTypes.AiReply));
        });
    }

    /// <summary>Review mode: a doctor's rejection closes the record as <c>4005: rejected</c>; nothing reaches the patient.</summary>
    private void Reject(RejectDraft command)
    {
        var state = _state;
        RunWrite(command, async () =>
        {
            var stored = await _store.GetStoredRecord(_groupId, command.RecordId);
            if (state.DecideReview(stored, command.Caller) is { } refused) return new WriteResult(Outcome<AiInteractionResponse>.Fail(refused));
            var record = stored!.Record;
            if (!await _store.RejectDraft(_groupId, record.RecordId, record.UserMessageId, record.ContextToSeq ?? 0, command.Caller.UserId ?? "",
                    state.Recipients()))
                return new WriteResult(Outcome<AiInteractionResponse>.Fail(Errors.InvalidState("the draft is no longer pending")));
            return new WriteResult(Outcome<AiInteractionResponse>.Ok((await _store.GetRecord(record.RecordId))!));
        });
    }

    /// <summary>A pending draft's text: for the group's doctors and admins, never a patient. A read: no write waits for it.</summary>
    private async Task<Outcome<AiDraftResponse>> DraftFor(GetDraft command, GroupState state)
    {
        var stored = await _store.GetStoredRecord(_groupId, command.RecordId);
        return state.DecideReview(stored, command.Caller) is { } refused ? refused : stored!.Draft!;
    }

    /// <summary>
    /// Records open when this writer starts belong to no running call of it: their node died, or the
    /// writer was handed over or restarted. Any attempt still running here is cancelled first, so
    /// none of its frames follows the close.
    /// </summary>
    private void InterruptOpenRecords(IReadOnlyCollection<OpenAiRecord> records, Action? then)
    {
        var recipients = _state.Recipients();
        RunWrite(new InterruptRecords(), async () =>
        {
            await CloseAsInterrupted(records, recipients);
            return new WriteResult(null, () =>
            {
                foreach (var open in records) _state = _state.WithoutOpenRecord(open.RecordId);
                then?.Invoke();
            });
        });
    }

    /// <summary>
    /// A wake that finds this writer running: its close at start failed (the store was down), or it
    /// started before the wake came. Records open in the store that are no call of this writer were
    /// left by an earlier one, and are closed as interrupted.
    /// </summary>
    private void InterruptRecordsLeftOpen()
    {
        var running = _state.OpenRecords;
        var recipients = _state.Recipients();
        RunWrite(new InterruptRecords(), async () =>
        {
            var snapshot = await _store.LoadGroup(_groupId);
            await CloseAsInterrupted([.. (snapshot?.OpenRecords ?? []).Where(open => !running.ContainsKey(open.RecordId))], recipients);
            return new WriteResult(null);
        });
    }

    private async Task CloseAsInterrupted(IReadOnlyCollection<OpenAiRecord> records, IReadOnlyCollection<string> recipients)
    {
        var closed = 0;
        foreach (var open in records)
        {
            await CancelAttempt(open);
            if (await _store.CloseRecord(open.RecordId, open.Attempt, AiPipelineActor.Interrupted, null,
                    StateOf(open, recipients, AiStates.Failed, ErrorCodes.AiCallFailed)))
                closed++;
        }
        if (closed > 0) Log.Warning("Closed {0} AI record(s) of group {1} whose call was interrupted", closed, _groupId);
    }

    /// <summary>Handed over to another node, or the node stops: the calls end with this writer, and clients hear it now.</summary>
    private void StopAfterInterruptingOpenRecords()
    {
        // A stop waiting for the pipeline is answered first: its close is a write like any other.
        if (_stopping.Count > 0) Stash.Stash();
        else if (_state.OpenRecords.IsEmpty) Context.Stop(Self);
        else InterruptOpenRecords([.. _state.OpenRecords.Values], then: () => Context.Stop(Self));
    }

    private async Task CancelAttempt(OpenAiRecord open)
    {
        try
        {
            await _aiPipeline.Ask<AiPipeline.Stopped>(new AiPipeline.Stop(open.RecordId, open.Attempt), PipelineStopTimeout);
        }
        catch (AskTimeoutException)
        {
            Log.Warning("The AI pipeline did not confirm stopping record {0} in time; closing it anyway", open.RecordId);
        }
    }

    /// <summary>An <c>ai_state</c> of a record, following the patient's message it answers.</summary>
    private AiStateChanged StateOf(OpenAiRecord open, IReadOnlyCollection<string> recipients, string state, string? code = null) =>
        new(_groupId, [.. recipients], open.RecordId, open.UserMessageId, state, code) { Seq = open.ContextToSeq };

    /// <summary>An attempt's end, as this writer stores it; <paramref name="Tries"/> counts tries while the store is down.</summary>
    private sealed record FinishAttempt(AiAnswered Answered, int Tries) : ILocalOnly;

    private sealed record InterruptRecords : ILocalOnly;

    private sealed record StopChecked(StopAiReply Command, IActorRef ReplyTo, StoredAiRecord? Stored) : ILocalOnly;

    private sealed record StopCheckFailed(StopAiReply Command, IActorRef ReplyTo, Exception Cause) : ILocalOnly;

    private sealed record PipelineStopTimedOut(string RecordId) : ILocalOnly;

    /// <summary>A stop decided, waiting for the pipeline; its attempt is out of the open records meanwhile.</summary>
    private sealed record PendingStop(StopAiReply Command, IActorRef ReplyTo, OpenAiRecord Open);
}
