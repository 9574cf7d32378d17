using Akka.Actor;
using Akka.Event;
using Im.Actors.Ai;
using Im.Actors.Storage;
using Im.Contracts;
using static Im.Actors.Groups.GroupCommands;

namespace Im.Actors.Groups;

/// <param name="Node">This cluster member's unique address, written into the AI records it opens.</param>
public sealed record GroupActorSettings(string AssistantUserId, TimeSpan PassivateAfter, string Node = "");

/// <summary>
/// The single writer of one group, behind the shard region. Loads the group and its members when
/// it starts, checks senders against them, appends each message (and the AI record for a patient's
/// message) in one store step, replies only after that step, and hands patients' messages to the AI
/// router. A group that does not exist answers 3001 and passivates at once, leaving nothing behind.
/// </summary>
public sealed class GroupActor : SingleWriterActor
{
    private readonly string _groupId;
    private readonly ImStore _store;
    private readonly IActorRef _aiRouter;
    private readonly IAiEndpoint _aiEndpoint;
    private readonly GroupActorSettings _settings;
    private GroupState _state;

    public GroupActor(string groupId, ImStore store, IActorRef aiRouter, IAiEndpoint aiEndpoint, GroupActorSettings settings)
    {
        _groupId = groupId;
        _store = store;
        _aiRouter = aiRouter;
        _aiEndpoint = aiEndpoint;
        _settings = settings;
        _state = GroupState.Absent(groupId);
        Loading();
    }

    public static Props Props(string groupId, ImStore store, IActorRef aiRouter, IAiEndpoint aiEndpoint, GroupActorSettings settings) =>
        Akka.Actor.Props.Create(() => new GroupActor(groupId, store, aiRouter, aiEndpoint, settings));

    protected override void PreStart() =>
        _store.LoadGroup(_groupId).PipeTo(Self, success: snapshot => new Loaded(snapshot), failure: ex => new LoadFailed(ex));

    private void Loading()
    {
        Receive<Loaded>(loaded =>
        {
            if (loaded.Snapshot is { } snapshot)
                _state = GroupState.Existing(_groupId, snapshot.MemberRoles);
            Become(Active);
            Stash.UnstashAll();
        });
        Receive<LoadFailed>(failed =>
        {
            Log.Warning(failed.Cause, "Loading group {0} failed", _groupId);
            Become(() => RefuseAll(ErrorFor(failed.Cause)));
            Stash.UnstashAll();
        });
        ReceiveAny(_ => Stash.Stash());
    }

    private void Active()
    {
        Context.SetReceiveTimeout(_settings.PassivateAfter);
        Receive<CreateGroup>(Create);
        Receive<AddMember>(Add);
        Receive<SendMessage>(Send);
        Receive<StoreAiReply>(StoreReply);
        Receive<ReceiveTimeout>(_ => Passivate());
        Receive<StopEntity>(_ => Context.Stop(Self));
    }

    private void Create(CreateGroup command)
    {
        if (_state.Exists)
        {
            Sender.Tell(Refusal(command, new ApiError(ErrorCodes.InternalError, "group id already taken")));
            return;
        }
        RunWrite(command, async () =>
        {
            if (!await _store.UserExists(command.CreatedBy))
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
        switch (_state.DecideAdd(command.UserId))
        {
            case AddDecision.Refuse refuse:
                RefuseAndPassivateIfAbsent(command, refuse.Error);
                return;
            case AddDecision.AddIfUserExists:
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

    private void Send(SendMessage command)
    {
        switch (_state.DecideSend(command.SenderId))
        {
            case SendDecision.Refuse refuse:
                RefuseAndPassivateIfAbsent(command, refuse.Error);
                return;
            case SendDecision.RefuseAfterUserCheck:
                _store.UserExists(command.SenderId).PipeTo(Sender,
                    success: exists => Outcome<MessageResponse>.Fail(exists ? Errors.NotMember : Errors.UserNotFound),
                    failure: ex => Outcome<MessageResponse>.Fail(ErrorFor(ex)));
                return;
            case SendDecision.Accept accept:
                var aiChange = accept.ForwardToAi ? new AiRecordChange.Open(_aiEndpoint.Url, _settings.Node) : AiRecordChange.None;
                var message = new NewMessage(_groupId, command.SenderId, MessageTypes.Text, command.Content,
                    _state.Recipients(), command.ClientMsgId, aiChange);
                RunWrite(command, async () =>
                {
                    var appended = await _store.AppendMessage(message);
                    return new WriteResult(Outcome<MessageResponse>.Ok(appended.Message), () =>
                    {
                        if (appended.OpenedRecordId is { } recordId)
                            _aiRouter.Tell(new AiCommands.Forward(_groupId, appended.Message.MessageId, appended.Message.Seq, recordId));
                    });
                });
                return;
        }
    }

    private void StoreReply(StoreAiReply command)
    {
        if (_state.DecideAiReply() is { } error)
        {
            RefuseAndPassivateIfAbsent(command, error);
            return;
        }
        var message = new NewMessage(_groupId, _settings.AssistantUserId, MessageTypes.AiReply, command.Content,
            _state.Recipients(), null, new AiRecordChange.Complete(command.RecordId, command.UserMessageId, command.DurationMs));
        RunWrite(command, async () => new WriteResult(Outcome<MessageResponse>.Ok((await _store.AppendMessage(message)).Message)));
    }

    private void RefuseAndPassivateIfAbsent(object command, ApiError error)
    {
        Sender.Tell(Refusal(command, error));
        if (!_state.Exists) Passivate();
    }

    private void RefuseAll(ApiError error)
    {
        Receive<StopEntity>(_ => Context.Stop(Self));
        ReceiveAny(command =>
        {
            Sender.Tell(Refusal(command, error));
            Passivate();
        });
    }

    protected override object Refusal(object command, ApiError error) => command switch
    {
        CreateGroup => Outcome<GroupResponse>.Fail(error),
        AddMember => Outcome<AddMemberResponse>.Fail(error),
        _ => Outcome<MessageResponse>.Fail(error),
    };

    private sealed record Loaded(GroupSnapshot? Snapshot) : ILocalOnly;

    private sealed record LoadFailed(Exception Cause) : ILocalOnly;
}
