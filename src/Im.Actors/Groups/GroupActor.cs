using Akka.Actor;
using Akka.Event;
using Im.Actors.Ai;
using Im.Actors.Storage;
using Im.Contracts;
using static Im.Actors.Groups.GroupCommands;

namespace Im.Actors.Groups;

/// <param name="Metrics">Where the node counts live group actors and stored messages.</param>
/// <param name="Node">This cluster member's unique address, written into the AI records whose calls it runs.</param>
/// <param name="Model">The AI model, written into each record it opens.</param>
/// <param name="ContextMessages">How many messages, ending with the patient's, an AI call is given.</param>
public sealed record GroupActorSettings(
    string AssistantUserId,
    TimeSpan PassivateAfter,
    ImMetrics Metrics,
    string Node = "",
    string Model = "stand-in",
    int ContextMessages = 20);

/// <summary>
/// The single writer of one group, behind the shard region. Loads the group and its members when
/// it starts, checks senders against them and member changes against <see cref="Access"/>, appends
/// each message (and the AI record for a patient's message) in one store step, and replies only
/// after that step. A removal changes the members it pushes to from the next message on. A group
/// that does not exist answers 3001 and passivates at once, leaving nothing behind. Every
/// transition of the group's AI records is its too: see GroupActor.AiReplies.cs.
/// </summary>
public sealed partial class GroupActor : SingleWriterActor, IWithTimers
{
    private readonly string _groupId;
    private readonly ImStore _store;
    private readonly IActorRef _aiPipeline;
    private readonly IAiEndpoint _aiEndpoint;
    private readonly GroupActorSettings _settings;
    private GroupState _state;
    private DateTimeOffset? _pauseInFlight;
    // This writer's blocks of the spec's integer ids: taken in the order it decides, so they increase with seq.
    private readonly IdBlock _messageIds;
    private readonly IdBlock _recordIds;

    public ITimerScheduler Timers { get; set; } = null!;

    public GroupActor(string groupId, ImStore store, IActorRef aiPipeline, IAiEndpoint aiEndpoint, GroupActorSettings settings)
    {
        _groupId = groupId;
        _store = store;
        _aiPipeline = aiPipeline;
        _aiEndpoint = aiEndpoint;
        _settings = settings;
        _state = GroupState.Absent(groupId);
        _messageIds = store.NewMessageIds();
        _recordIds = store.NewRecordIds();
        Loading();
    }

    /// <param name="aiPipeline">The node's <see cref="AiPipelineActor"/>: this writer's calls run on its own node.</param>
    public static Props Props(string groupId, ImStore store, IActorRef aiPipeline, IAiEndpoint aiEndpoint, GroupActorSettings settings) =>
        Akka.Actor.Props.Create(() => new GroupActor(groupId, store, aiPipeline, aiEndpoint, settings));

    protected override void PreStart()
    {
        _settings.Metrics.GroupActorStarted();
        _store.LoadGroup(_groupId).PipeTo(Self, success: snapshot => new Loaded(snapshot), failure: ex => new LoadFailed(ex));
    }

    protected override void PostStop() => _settings.Metrics.GroupActorStopped();

    private void Loading()
    {
        Receive<Loaded>(loaded =>
        {
            Become(Active);
            if (loaded.Snapshot is { } snapshot)
            {
                _state = GroupState.Loaded(snapshot);
                if (snapshot.OpenRecords.Count > 0) InterruptOpenRecords(snapshot.OpenRecords, then: null);
            }
            Stash.UnstashAll();
        });
        Receive<LoadFailed>(failed =>
        {
            Log.Warning(failed.Cause, "Loading group {0} failed", _groupId);
            Become(() => RefuseAll(Errors.For(failed.Cause)));
            Stash.UnstashAll();
        });
        ReceiveAny(_ => Stash.Stash());
    }

    private void Active()
    {
        Context.SetReceiveTimeout(_settings.PassivateAfter);
        // A plain message's append runs beside others (see Send); everything else waits for them, so it
        // is decided against the state they leave.
        ReceivePipelinedWrites(mayRunBeside: message =>
            message is SendMessage { MsgType: not MessageTypes.Image } && _messageIds.HasIds && _recordIds.HasIds
            || message is ReceiveTimeout or GetDraft);
        Receive<CreateGroup>(Create);
        Receive<AddMember>(Add);
        Receive<RemoveMember>(Remove);
        Receive<SendMessage>(Send);
        Receive<SetGroupAi>(SetAi);
        ReceiveAiReplies();
        // A writer with a reply being written stays: it is the one that will store or close it.
        Receive<ReceiveTimeout>(_ =>
        {
            if (_state.OpenRecords.IsEmpty && _stopping.Count == 0 && !WritesInFlight) Passivate();
        });
        Receive<StopEntity>(_ => StopAfterInterruptingOpenRecords());
    }

    private void Create(CreateGroup command)
    {
        if (_state.Exists)
        {
            Refuse(command, new ApiError(ErrorCodes.InternalError, "group id already taken"));
            return;
        }
        RunWrite(command, async () =>
        {
            var creator = await _store.GetUser(command.CreatedBy);
            // A refused creation leaves no entity behind.
            if (!command.Caller.MayCreateGroup(creator?.UserRole))
                return new WriteResult(Outcome<GroupResponse>.Fail(Errors.Forbidden), Passivate);
            if (creator is null)
                return new WriteResult(Outcome<GroupResponse>.Fail(Errors.UserNotFound), Passivate);
            var group = await _store.CreateGroup(command.GroupId, command.GroupName, command.Description, command.CreatedBy);
            if (group is null)
                return new WriteResult(Outcome<GroupResponse>.Fail(ErrorCodes.InternalError, "group id already taken"));
            return new WriteResult(Outcome<GroupResponse>.Ok(group),
                () => _state = _state.WithMember(command.CreatedBy, UserRoles.Doctor));
        });
    }

    private void Add(AddMember command)
    {
        switch (_state.DecideAdd(command.UserId, command.Caller))
        {
            case MemberDecision.Refuse refuse:
                RefuseAndPassivateIfAbsent(command, refuse.Error);
                return;
            case MemberDecision.AddIfUserExists:
                RunWrite(command, async () =>
                {
                    if (!await _store.UserExists(command.UserId))
                        return new WriteResult(Outcome<AddMemberResponse>.Fail(Errors.UserNotFound));
                    return await _store.AddMember(_groupId, command.UserId, command.UserRole) switch
                    {
                        AddMemberResult.Added => new WriteResult(Outcome<AddMemberResponse>.Ok(AddMemberResponse.Added),
                            () => _state = _state.WithMember(command.UserId, command.UserRole)),
                        AddMemberResult.AlreadyMember => new WriteResult(Outcome<AddMemberResponse>.Fail(Errors.AlreadyMember)),
                        _ => new WriteResult(Outcome<AddMemberResponse>.Fail(Errors.GroupNotFound)),
                    };
                });
                return;
        }
    }

    private void Remove(RemoveMember command)
    {
        switch (_state.DecideRemove(command.UserId, command.Caller))
        {
            case MemberDecision.Refuse refuse:
                RefuseAndPassivateIfAbsent(command, refuse.Error);
                return;
            case MemberDecision.RefuseAfterUserCheck:
                RefuseAfterUserCheck(command, command.UserId);
                return;
            case MemberDecision.Remove:
                // From the moment the state changes, no message this writer stores names the user as a
                // recipient, so the user's sockets get none of the group's later pushes.
                RunWrite(command, async () =>
                {
                    await _store.RemoveMember(_groupId, command.UserId);
                    return new WriteResult(Outcome<SuccessResponse>.Ok(SuccessResponse.Done),
                        () => _state = _state.WithoutMember(command.UserId));
                });
                return;
        }
    }

    private void Send(SendMessage command)
    {
        if (!WritesInFlight) _pauseInFlight = null;
        switch (StateWithPausesInFlight().DecideSend(command.SenderId, _store.Now))
        {
            case SendDecision.Refuse refuse:
                RefuseAndPassivateIfAbsent(command, refuse.Error);
                return;
            case SendDecision.RefuseAfterUserCheck:
                RefuseAfterUserCheck(command, command.SenderId);
                return;
            case SendDecision.Accept accept when command.MsgType == MessageTypes.Image:
                // Its media is read first (safe: an image never changes group once uploaded), so its append would not
                // leave in the writer's order: it runs alone.
                var image = NewMessageOf(command, accept);
                RunWrite(command, async () =>
                {
                    if (await _store.GetMedia(command.Content) is not { } uploaded || uploaded.GroupId != _groupId)
                        return new WriteResult(Outcome<SentMessage>.Fail(Errors.NotGroupMedia));
                    return Appended(accept, await _store.AppendMessage(await WithIds(image with { Media = uploaded.Info })));
                });
                return;
            case SendDecision.Accept accept when !_messageIds.HasIds || !_recordIds.HasIds:
                // No pipelined write is in flight (see Active): this one waits for its ids alone.
                var waiting = NewMessageOf(command, accept);
                RunWrite(command, async () => Appended(accept, await _store.AppendMessage(await WithIds(waiting))));
                return;
            case SendDecision.Accept accept:
                if (accept.PausesAiUntil is { } pause && !(_pauseInFlight >= pause)) _pauseInFlight = pause;
                // AppendMessage sends its script before its first await, so the appends reach the store in this order.
                var message = WithIdsAtHand(NewMessageOf(command, accept));
                RunPipelined(command, async () => Appended(accept, await _store.AppendMessage(message)));
                return;
        }
    }

    /// <summary>The message with its ids, which the blocks have now (<see cref="IdBlock.HasIds"/> said so on this thread).</summary>
    private NewMessage WithIdsAtHand(NewMessage message)
    {
        if (!_messageIds.TryTake(out var id)) throw new InvalidOperationException("the message id block ran out on the writer's own thread");
        var recordNumber = 0L;
        if (message.Ai is AiRecordChange.Open && !_recordIds.TryTake(out recordNumber))
            throw new InvalidOperationException("the record id block ran out on the writer's own thread");
        return message with { Id = id, RecordNumber = recordNumber };
    }

    /// <summary>
    /// The message with its ids, waiting for a block when none is left: only in an exclusive write. Blocks
    /// are reserved by the first message a writer stores, not when it starts, so a refused command leaves
    /// the store as it was; the record block then too, so that the messages after it can be pipelined.
    /// </summary>
    private async Task<NewMessage> WithIds(NewMessage message)
    {
        _recordIds.Warm();
        return message with
        {
            Id = await _messageIds.Take(),
            RecordNumber = message.Ai is AiRecordChange.Open ? await _recordIds.Take() : 0,
        };
    }

    private NewMessage NewMessageOf(SendMessage command, SendDecision.Accept accept)
    {
        var aiChange = accept.ForwardToAi
            ? new AiRecordChange.Open(_aiEndpoint.Url, _settings.Node, _settings.Model, _settings.ContextMessages, _state.AiMode)
            : AiRecordChange.None;
        return new NewMessage(_groupId, command.SenderId, command.MsgType, command.Content, _state.Recipients(), command.ClientMsgId,
            aiChange, Media: null, accept.PausesAiUntil);
    }

    private WriteResult Appended(SendDecision.Accept accept, Outcome<AppendedMessage> appended)
    {
        if (appended.Error is { } conflict) return new WriteResult(Outcome<SentMessage>.Fail(conflict));
        var (stored, openedRecord, replayed) = appended.Value!;
        return new WriteResult(Outcome<SentMessage>.Ok(new SentMessage(stored, replayed)), () =>
        {
            if (!replayed) _settings.Metrics.MessageStored(stored.MsgType);
            if (!replayed && accept.PausesAiUntil is { } pauseEnd && !(_state.AiPausedUntil >= pauseEnd))
                _state = _state with { AiPausedUntil = pauseEnd };
            if (openedRecord is not null) StartAttempt(openedRecord);
        });
    }

    /// <summary>
    /// A patient's message decided while a doctor's is still being appended is decided as if that
    /// doctor's pause were stored already, as it would be one write at a time; the pause itself enters
    /// the state only once its message is stored (a repeat of an earlier send pauses nothing). With no
    /// write in flight, no pause is.
    /// </summary>
    private GroupState StateWithPausesInFlight() =>
        _pauseInFlight is { } pause && !(_state.AiPausedUntil >= pause) ? _state with { AiPausedUntil = pause } : _state;

    private void SetAi(SetGroupAi command)
    {
        if (_state.DecideSetAi(command.Caller) is { } refused)
        {
            RefuseAndPassivateIfAbsent(command, refused);
            return;
        }
        var pause = command.Settings.PauseAfterDoctorSeconds ?? _state.PauseAfterDoctorSeconds;
        // The endpoint requires a caller: a member's id, or an admin token's subject.
        var updatedBy = command.Caller.UserId ?? "";
        var recipients = _state.Recipients();
        RunWrite(command, async () =>
            await _store.SetGroupAi(_groupId, command.Settings.Mode, pause, updatedBy, recipients) is { } settings
                ? new WriteResult(Outcome<GroupAiResponse>.Ok(settings), () => _state = _state.WithAiSettings(settings))
                : new WriteResult(Outcome<GroupAiResponse>.Fail(Errors.GroupNotFound)));
    }

    /// <summary>The user named by a command is not a member: 2003 if the user exists, 2001 if not (user checks come first).</summary>
    private void RefuseAfterUserCheck(IRefusable command, string userId) =>
        _store.UserExists(userId).PipeTo(Sender,
            success: exists => command.Refuse(exists ? Errors.NotMember : Errors.UserNotFound),
            failure: ex => command.Refuse(Errors.For(ex)));

    private void Refuse(IRefusable command, ApiError error) => Sender.Tell(command.Refuse(error));

    private void RefuseAndPassivateIfAbsent(IRefusable command, ApiError error)
    {
        Refuse(command, error);
        if (!_state.Exists) Passivate();
    }

    private void RefuseAll(ApiError error)
    {
        Receive<StopEntity>(_ => Context.Stop(Self));
        Receive<WakeForOrphanedRecords>(_ => Passivate());
        Receive<IRefusable>(command =>
        {
            Sender.Tell(command.Refuse(error));
            Passivate();
        });
    }

    private sealed record Loaded(GroupSnapshot? Snapshot) : ILocalOnly;

    private sealed record LoadFailed(Exception Cause) : ILocalOnly;
}
