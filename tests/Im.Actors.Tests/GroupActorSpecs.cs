using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.TestKit;
using Im.Actors.Ai;
using Im.Actors.Groups;
using Im.Actors.Storage;
using Im.Actors.Tests.Support;
using Im.Contracts;
using Im.TestSupport;
using StackExchange.Redis;
using Xunit.Abstractions;
using static Im.Actors.Groups.GroupCommands;
using static Im.Actors.Tests.Support.OutcomeAssert;

namespace Im.Actors.Tests;

/// <summary>
/// The GroupActor over a real store (embedded Garnet), with a probe as the AI router and another
/// as its parent (the shard). Messages are serialized on every send, as they would be between nodes.
/// </summary>
public sealed partial class GroupActorSpecs : Akka.TestKit.Xunit2.TestKit, IClassFixture<GarnetStoreServer>
{
    private const string AssistantId = "ai_assistant_001";

    /// <summary>A Header-mode caller: v0.2's actions are open to it, as they were before authorization.</summary>
    private static readonly Caller V02 = Caller.FromHeader(null);
    private static readonly Caller Admin = Caller.FromToken("root", isAdmin: true);
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);
    private static readonly IAiEndpoint Endpoint = new FixedAiEndpoint("http://127.0.0.1:9/v1/chat/completions");

    private readonly GarnetStoreServer _server;
    private readonly ImStore _store;
    private readonly TestProbe _aiPipeline;
    private readonly TestProbe _shard;
    private readonly string _groupId = Ids.NewGroupId(DateTimeOffset.UtcNow);
    private readonly ImMetrics _metrics = new();
    /// <summary>The store's clock, which the writer reads for a pause after a doctor's message.</summary>
    private readonly ManualClock _clock = new(DateTimeOffset.UtcNow);
    /// <summary>A pipeline slow to confirm a stop: the stops it got, for a spec to confirm by hand.</summary>
    private volatile bool _holdStops;
    private readonly System.Collections.Concurrent.ConcurrentQueue<(IActorRef Sender, AiPipeline.Stop Stop)> _heldStops = new();

    public GroupActorSpecs(GarnetStoreServer server, ITestOutputHelper output) : base(ActorSpecs.SerializingConfig, output: output)
    {
        _server = server;
        _store = server.NewStore(_clock);
        _aiPipeline = CreateTestProbe("ai-pipeline");
        // A pipeline confirms a stop at once; the probe does too, and still records every message for the specs to read.
        _aiPipeline.SetAutoPilot(new DelegateAutoPilot((sender, message) =>
        {
            if (message is AiPipeline.Stop stop)
            {
                if (_holdStops) _heldStops.Enqueue((sender, stop));
                else sender.Tell(new AiPipeline.Stopped(stop.RecordId, stop.Attempt));
            }
            return AutoPilot.KeepRunning;
        }));
        _shard = CreateTestProbe("shard");
    }

    private IActorRef StartGroup(string? groupId = null, TimeSpan? passivateAfter = null, ImStore? store = null) =>
        Sys.ActorOf(ShardStandIn.Props(
            GroupActor.Props(groupId ?? _groupId, store ?? _store, _aiPipeline.Ref, Endpoint,
                new GroupActorSettings(AssistantId, passivateAfter ?? TimeSpan.FromMinutes(1), _metrics)),
            _shard.Ref));

    private Task<Outcome<T>> Ask<T>(IActorRef group, IRepliedWith<T> command) where T : class =>
        this.AskThroughProbe(group, command, AskTimeout);

    private static Caller Jwt(string userId) => Caller.FromToken(userId, isAdmin: false);

    /// <summary>A group made through the actor, by a creator who exists, with the given members added through it too.</summary>
    private async Task<IActorRef> GroupWith(params (string User, string SystemRole, string GroupRole)[] members)
    {
        await _store.CreateUser("creator", "Dr. Creator", UserRoles.Doctor);
        var group = StartGroup();
        Ok(await Ask<GroupResponse>(group, new CreateGroup(_groupId, "Cardiology", null, "creator", V02)));
        foreach (var (user, systemRole, groupRole) in members)
        {
            await _store.CreateUser(user, user, systemRole);
            Assert.Equal(AddMemberResponse.Added, Ok(await Ask<AddMemberResponse>(group, new AddMember(_groupId, user, groupRole, V02))));
        }
        return group;
    }

    private async Task<MessageResponse> Send(IActorRef group, string sender, string content) =>
        Ok(await Ask(group, new SendMessage(_groupId, sender, content, null))).Message;

    [Fact]
    public void Should_serialize_every_message() => Assert.True(Sys.Settings.SerializeAllMessages);

    // ---- creating ----

    [Fact]
    public async Task Should_create_group_with_creator_as_doctor()
    {
        // The creator's system role does not matter: in the group the creator is a DOCTOR.
        await _store.CreateUser("creator", "张医生", UserRoles.Patient);
        var group = StartGroup();

        var created = Ok(await Ask<GroupResponse>(group, new CreateGroup(_groupId, "心内科", "咨询", "creator", V02)));

        Assert.Equal((_groupId, "心内科", "咨询", "creator"), (created.GroupId, created.GroupName, created.Description, created.CreatedBy));
        Assert.Equal(created, await _store.GetGroup(_groupId));
        Assert.Equal([("creator", UserRoles.Doctor)], (await _store.GetMembers(_groupId)).Select(m => (m.UserId, m.UserRole)));
        var message = await Send(group, "creator", "欢迎");
        Assert.Equal(1, message.Seq);
        Assert.Empty(await _store.PendingRecordIds());
    }

    [Fact]
    public async Task Should_refuse_create_when_creator_unknown()
    {
        var group = StartGroup();

        Refused(ErrorCodes.UserNotFound, await Ask<GroupResponse>(group, new CreateGroup(_groupId, "g", null, "nobody", V02)));

        Assert.False(await _store.GroupExists(_groupId));
        await _shard.ExpectMsgAsync<Passivate>();
    }

    [Fact]
    public async Task Should_refuse_to_create_a_group_that_exists()
    {
        var group = await GroupWith();

        var again = await Ask<GroupResponse>(group, new CreateGroup(_groupId, "other", null, "creator", V02));

        Assert.NotNull(again.Error);
        Assert.Equal("Cardiology", (await _store.GetGroup(_groupId))!.GroupName);
    }

    [Fact]
    public async Task Should_finish_an_in_flight_write_before_stopping_for_a_hand_off()
    {
        var group = await GroupWith();
        var entity = await Sys.ActorSelection(group.Path / "entity").ResolveOne(AskTimeout);
        var watcher = CreateTestProbe();
        watcher.Watch(entity);
        var replyTo = CreateTestProbe();

        group.Tell(new SendMessage(_groupId, "creator", "in flight", null), replyTo.Ref);
        group.Tell(StopEntity.Instance);

        var stored = Ok(await replyTo.ExpectMsgAsync<Outcome<SentMessage>>(AskTimeout)).Message;
        await watcher.ExpectTerminatedAsync(entity, AskTimeout);
        Assert.Equal("in flight", (await _store.GetMessage(stored.MessageId))!.MsgContent);
    }

    [Fact]
    public async Task Should_count_itself_while_alive_and_the_messages_it_stores_by_type_but_not_replays()
    {
        var group = await GroupWith(("patient", UserRoles.Patient, UserRoles.Patient));
        var entity = await Sys.ActorSelection(group.Path / "entity").ResolveOne(AskTimeout);
        Assert.Equal(1, _metrics.GroupActors);

        Ok(await Ask(group, new SendMessage(_groupId, "patient", "我头疼", "c-1")));
        Ok(await Ask(group, new SendMessage(_groupId, "patient", "我头疼", "c-1")));
        var forward = await _aiPipeline.ExpectMsgAsync<AiPipeline.Call>();
        await Answer(group, forward, "请多休息");
        // The reply is counted on the writer's thread once its append has answered, a moment after the record reads closed.
        await Eventually.True(() => _metrics.MessagesStored(MessageTypes.AiReply) > 0, AskTimeout, "the reply to be counted");

        Assert.Equal((1, 0, 1), (_metrics.MessagesStored(MessageTypes.Text), _metrics.MessagesStored(MessageTypes.Image),
            _metrics.MessagesStored(MessageTypes.AiReply)));
        Watch(entity);
        group.Tell(StopEntity.Instance);
        await ExpectTerminatedAsync(entity, AskTimeout);
        Assert.Equal(0, _metrics.GroupActors);
    }

    [Fact]
    public async Task Should_answer_3001_for_unknown_group()
    {
        await _store.CreateUser("someone", "s", UserRoles.Patient);
        var group = StartGroup();

        Refused(ErrorCodes.GroupNotFound, await Ask<SentMessage>(group, new SendMessage(_groupId, "someone", "hi", null)));
        Assert.IsType<StopEntity>((await _shard.ExpectMsgAsync<Passivate>()).StopMessage);
        Refused(ErrorCodes.GroupNotFound, await Ask<AddMemberResponse>(group, new AddMember(_groupId, "someone", UserRoles.Patient, V02)));

        var db = _server.Redis.GetDatabase();
        Assert.False(await db.KeyExistsAsync(_store.Keys.Group(_groupId)));
        Assert.False(await db.KeyExistsAsync(_store.Keys.GroupMembers(_groupId)));
        Assert.False(await db.KeyExistsAsync(_store.Keys.GroupMessages(_groupId)));
        await _aiPipeline.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    // ---- members ----

    [Fact]
    public async Task Should_add_members_once()
    {
        var group = await GroupWith();
        await _store.CreateUser("patient", "p", UserRoles.Patient);

        Ok(await Ask<AddMemberResponse>(group, new AddMember(_groupId, "patient", UserRoles.Patient, V02)));
        Refused(ErrorCodes.AlreadyMember, await Ask<AddMemberResponse>(group, new AddMember(_groupId, "patient", UserRoles.Doctor, V02)));
        Refused(ErrorCodes.AlreadyMember, await Ask<AddMemberResponse>(group, new AddMember(_groupId, "creator", UserRoles.Patient, V02)));
        Refused(ErrorCodes.UserNotFound, await Ask<AddMemberResponse>(group, new AddMember(_groupId, "nobody", UserRoles.Patient, V02)));

        Assert.Equal([("creator", UserRoles.Doctor), ("patient", UserRoles.Patient)],
            (await _store.GetMembers(_groupId)).Select(m => (m.UserId, m.UserRole)));
        Assert.Equal(1, (await Send(group, "patient", "hello")).Seq);
    }

    [Fact]
    public async Task Should_reject_sender_who_is_not_a_member()
    {
        var group = await GroupWith();
        await _store.CreateUser("outsider", "o", UserRoles.Patient);

        Refused(ErrorCodes.NotMember, await Ask<SentMessage>(group, new SendMessage(_groupId, "outsider", "let me in", null)));

        Assert.Equal(0, (await _store.ListMessages(_groupId, new PageRequest(1, 20))).Total);
    }

    [Fact]
    public async Task Should_reject_unknown_sender_with_2001()
    {
        var group = await GroupWith();

        Refused(ErrorCodes.UserNotFound, await Ask<SentMessage>(group, new SendMessage(_groupId, "ghost", "boo", null)));

        Assert.Equal(0, (await _store.ListMessages(_groupId, new PageRequest(1, 20))).Total);
    }

    [Fact]
    public async Task Should_load_the_group_from_the_store_when_started()
    {
        await _store.CreateUser("creator", "c", UserRoles.Doctor);
        await _store.CreateUser("patient", "p", UserRoles.Patient);
        await _store.CreateGroup(_groupId, "g", null, "creator");
        await _store.AddMember(_groupId, "patient", UserRoles.Patient);
        await _store.Append(new NewMessage(_groupId, "creator", MessageTypes.Text, "before", ["creator"], null, AiRecordChange.None));

        var group = StartGroup();
        var message = await Send(group, "patient", "after");

        Assert.Equal(2, message.Seq);
        var forward = await _aiPipeline.ExpectMsgAsync<AiPipeline.Call>();
        Assert.Equal(message.MessageId, forward.UserMessageId);
    }

    // ---- sending and the AI ----

    [Fact]
    public async Task Should_forward_patient_messages_to_ai_router()
    {
        var group = await GroupWith(("patient", UserRoles.Patient, UserRoles.Patient));

        var message = await Send(group, "patient", "我头疼");

        var forward = await _aiPipeline.ExpectMsgAsync<AiPipeline.Call>();
        Assert.Equal((_groupId, message.MessageId, message.Seq), (forward.GroupId, forward.UserMessageId, forward.ContextToSeq));
        var record = await _store.GetRecord(forward.RecordId);
        Assert.Equal((AiRecordStatus.Pending, message.MessageId, Endpoint.Url, _groupId),
            (record!.Status, record.UserMessageId, record.AiServiceUrl, record.GroupId));
        Assert.Equal([forward.RecordId], await _store.PendingRecordIds());
    }

    [Fact]
    public async Task Should_not_forward_doctor_messages()
    {
        var group = await GroupWith(("doctor", UserRoles.Doctor, UserRoles.Doctor));

        await Send(group, "doctor", "请描述症状");
        await Send(group, "creator", "好的");

        Assert.Equal(0, (await _store.ListRecords(_groupId, new PageRequest(1, 20))).Total);
        await _aiPipeline.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task Should_forward_by_group_role_not_system_role()
    {
        var group = await GroupWith(
            ("doctor_as_patient", UserRoles.Doctor, UserRoles.Patient),
            ("patient_as_doctor", UserRoles.Patient, UserRoles.Doctor));

        await Send(group, "patient_as_doctor", "not for the AI");
        var forwarded = await Send(group, "doctor_as_patient", "for the AI");

        var forward = await _aiPipeline.ExpectMsgAsync<AiPipeline.Call>();
        Assert.Equal(forwarded.MessageId, forward.UserMessageId);
        Assert.Equal(1, (await _store.ListRecords(_groupId, new PageRequest(1, 20))).Total);
        await _aiPipeline.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task Should_reply_only_once_the_message_is_stored()
    {
        var group = await GroupWith();

        var message = await Send(group, "creator", "stored first");

        Assert.Equal(message, await _store.GetMessage(message.MessageId));
    }

    [Fact]
    public async Task Should_keep_seq_gapless_under_concurrent_senders()
    {
        var group = await GroupWith(
            ("d1", UserRoles.Doctor, UserRoles.Doctor),
            ("d2", UserRoles.Doctor, UserRoles.Doctor),
            ("p1", UserRoles.Patient, UserRoles.Patient),
            ("p2", UserRoles.Patient, UserRoles.Patient));
        string[] senders = ["creator", "d1", "d2", "p1", "p2"];

        var sends = senders.Select(sender => Task.Run(async () =>
            await Task.WhenAll(Enumerable.Range(1, 20).Select(i => Send(group, sender, $"{sender}-{i}"))))).ToList();
        var messages = (await Task.WhenAll(sends)).SelectMany(m => m).OrderBy(m => m.Seq).ToList();

        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), messages.Select(m => m.Seq));
        Assert.All(messages.Zip(messages.Skip(1)), pair => Assert.True(pair.Second.Id > pair.First.Id,
            $"id {pair.Second.Id} at seq {pair.Second.Seq} is not above id {pair.First.Id} at seq {pair.First.Seq}"));
        Assert.Equal(100, (await _store.ListMessages(_groupId, new PageRequest(1, 1))).Total);
        Assert.Equal(40, (await _store.ListRecords(_groupId, new PageRequest(1, 1))).Total);
        var forwards = await _aiPipeline.ReceiveNAsync(40).Cast<AiPipeline.Call>().ToListAsync();
        Assert.Equal(40, forwards.Select(f => f.ContextToSeq).Distinct().Count());
    }

    [Fact]
    public async Task Should_store_the_ai_reply_and_close_the_record()
    {
        var group = await GroupWith(("patient", UserRoles.Patient, UserRoles.Patient));
        var question = await Send(group, "patient", "我头疼");
        var forward = await _aiPipeline.ExpectMsgAsync<AiPipeline.Call>();

        var reply = await Answer(group, forward, "请多休息", durationMs: 1234);

        Assert.Equal((AssistantId, MessageTypes.AiReply, "请多休息", 2L),
            (reply.FromUserId, reply.MsgType, reply.MsgContent, reply.Seq));
        Assert.Equal(reply, await _store.GetMessage(reply.MessageId));
        var record = await _store.GetRecord(forward.RecordId);
        Assert.Equal((AiRecordStatus.Succeeded, reply.MessageId, 1234L, question.MessageId),
            (record!.Status, record.AiMessageId, record.DurationMs, record.UserMessageId));
        Assert.Empty(await _store.PendingRecordIds());
        // The assistant is not a member, and its reply is not sent back to the AI.
        Assert.DoesNotContain(AssistantId, (await _store.GetMembers(_groupId)).Select(m => m.UserId));
        await _aiPipeline.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
    }

    // ---- creating with tokens ----

    [Theory]
    [InlineData(UserRoles.Patient)]
    [InlineData(UserRoles.AiAssistant)]
    [InlineData(null)]
    public async Task Should_refuse_a_token_user_who_is_no_doctor_creating_a_group(string? systemRole)
    {
        // No role: the token's subject is no user; 403 still comes before 2001.
        if (systemRole is not null) await _store.CreateUser("caller", "c", systemRole);
        var group = StartGroup();

        Refused(ErrorCodes.Forbidden, await Ask<GroupResponse>(group, new CreateGroup(_groupId, "g", null, "caller", Jwt("caller"))));

        await _shard.ExpectMsgAsync<Passivate>();
        var db = _server.Redis.GetDatabase();
        Assert.False(await db.KeyExistsAsync(_store.Keys.Group(_groupId)));
        Assert.False(await db.KeyExistsAsync(_store.Keys.GroupMembers(_groupId)));
        Assert.False(await db.KeyExistsAsync(_store.Keys.UserGroups("caller")));
    }

    [Fact]
    public async Task Should_let_a_token_doctor_create_a_group_as_its_creator()
    {
        await _store.CreateUser("doctor", "d", UserRoles.Doctor);
        var command = GroupCommands.CreateGroup.For(new CreateGroupRequest("Cardiology", null), Jwt("doctor")).Value!;
        var group = StartGroup(command.GroupId);

        var created = Ok(await Ask<GroupResponse>(group, command));

        Assert.Equal((command.GroupId, "doctor"), (created.GroupId, created.CreatedBy));
        Assert.Equal((true, UserRoles.Doctor), await _store.GroupAccess(command.GroupId, "doctor"));
    }

    [Fact]
    public async Task Should_let_an_admin_create_a_group_for_the_user_named_in_created_by()
    {
        // Even for a patient: the admin chose, and in the group the creator is a DOCTOR.
        await _store.CreateUser("patient", "p", UserRoles.Patient);
        var group = StartGroup();

        var created = Ok(await Ask<GroupResponse>(group, new CreateGroup(_groupId, "g", null, "patient", Admin)));

        Assert.Equal("patient", created.CreatedBy);
        Assert.Equal([("patient", UserRoles.Doctor)], (await _store.GetMembers(_groupId)).Select(m => (m.UserId, m.UserRole)));
        Assert.False(await _store.UserExists("root"));
    }

    [Fact]
    public async Task Should_answer_an_admin_naming_an_unknown_creator_2001()
    {
        var group = StartGroup();

        Refused(ErrorCodes.UserNotFound, await Ask<GroupResponse>(group, new CreateGroup(_groupId, "g", null, "nobody", Admin)));

        await _shard.ExpectMsgAsync<Passivate>();
        Assert.False(await _store.GroupExists(_groupId));
    }

    // ---- adding members with tokens ----

    [Fact]
    public async Task Should_let_a_group_doctor_and_an_admin_add_members()
    {
        var group = await GroupWith();
        await _store.CreateUser("first", "f", UserRoles.Patient);
        await _store.CreateUser("second", "s", UserRoles.Patient);

        Ok(await Ask<AddMemberResponse>(group, new AddMember(_groupId, "first", UserRoles.Patient, Jwt("creator"))));
        Ok(await Ask<AddMemberResponse>(group, new AddMember(_groupId, "second", UserRoles.Doctor, Admin)));

        Assert.Equal([("creator", UserRoles.Doctor), ("first", UserRoles.Patient), ("second", UserRoles.Doctor)],
            (await _store.GetMembers(_groupId)).Select(m => (m.UserId, m.UserRole)));
        // The admin is no member for having added one.
        Assert.Null((await _store.GroupAccess(_groupId, "root")).Role);
    }

    [Fact]
    public async Task Should_refuse_adds_by_token_callers_who_are_not_group_doctors()
    {
        // A DOCTOR by system role who is a PATIENT in this group may not add either: the group role decides.
        var group = await GroupWith(("patient", UserRoles.Patient, UserRoles.Patient), ("doctor_as_patient", UserRoles.Doctor, UserRoles.Patient));
        await _store.CreateUser("outsider", "o", UserRoles.Doctor);
        await _store.CreateUser("newbie", "n", UserRoles.Patient);

        foreach (var caller in new[] { "patient", "doctor_as_patient", "outsider" })
            Refused(ErrorCodes.Forbidden, await Ask<AddMemberResponse>(group, new AddMember(_groupId, "newbie", UserRoles.Patient, Jwt(caller))));
        // 403 before 2001 and 2002: a refused caller learns nothing about users or members.
        Refused(ErrorCodes.Forbidden, await Ask<AddMemberResponse>(group, new AddMember(_groupId, "ghost", UserRoles.Patient, Jwt("patient"))));
        Refused(ErrorCodes.Forbidden, await Ask<AddMemberResponse>(group, new AddMember(_groupId, "creator", UserRoles.Patient, Jwt("outsider"))));

        Assert.Equal(["creator", "patient", "doctor_as_patient"], (await _store.GetMembers(_groupId)).Select(m => m.UserId));
    }

    [Fact]
    public async Task Should_answer_an_admin_adding_an_unknown_user_2001_and_a_member_2002()
    {
        var group = await GroupWith(("patient", UserRoles.Patient, UserRoles.Patient));

        Refused(ErrorCodes.UserNotFound, await Ask<AddMemberResponse>(group, new AddMember(_groupId, "ghost", UserRoles.Patient, Admin)));
        Refused(ErrorCodes.AlreadyMember, await Ask<AddMemberResponse>(group, new AddMember(_groupId, "patient", UserRoles.Patient, Admin)));
    }

    [Fact]
    public async Task Should_answer_3001_before_403_for_an_unknown_group()
    {
        await _store.CreateUser("outsider", "o", UserRoles.Patient);
        var group = StartGroup();

        Refused(ErrorCodes.GroupNotFound, await Ask<AddMemberResponse>(group, new AddMember(_groupId, "outsider", UserRoles.Patient, Jwt("outsider"))));
        Refused(ErrorCodes.GroupNotFound, await Ask<SuccessResponse>(group, new RemoveMember(_groupId, "outsider", Jwt("outsider"))));
        Refused(ErrorCodes.GroupNotFound, await Ask<SuccessResponse>(group, new RemoveMember(_groupId, "outsider", Caller.FromHeader("outsider"))));

        await _shard.ExpectMsgAsync<Passivate>();
        Assert.False(await _store.GroupExists(_groupId));
    }

    // ---- removing members ----

    [Fact]
    public async Task Should_let_a_group_doctor_remove_a_member_with_a_token()
    {
        var group = await GroupWith(("patient", UserRoles.Patient, UserRoles.Patient));

        Assert.Equal(SuccessResponse.Done, Ok(await Ask<SuccessResponse>(group, new RemoveMember(_groupId, "patient", Jwt("creator")))));

        Assert.Equal(["creator"], (await _store.GetMembers(_groupId)).Select(m => m.UserId));
        Assert.False(await _store.ShareAGroup("patient", "creator"));
    }

    [Fact]
    public async Task Should_let_an_admin_remove_a_member()
    {
        var group = await GroupWith(("patient", UserRoles.Patient, UserRoles.Patient));

        Ok(await Ask<SuccessResponse>(group, new RemoveMember(_groupId, "patient", Admin)));

        Assert.Equal(["creator"], (await _store.GetMembers(_groupId)).Select(m => m.UserId));
    }

    [Fact]
    public async Task Should_refuse_removals_by_token_callers_who_are_not_group_doctors()
    {
        var group = await GroupWith(("patient", UserRoles.Patient, UserRoles.Patient), ("doctor_as_patient", UserRoles.Doctor, UserRoles.Patient));
        await _store.CreateUser("outsider", "o", UserRoles.Doctor);

        Refused(ErrorCodes.Forbidden, await Ask<SuccessResponse>(group, new RemoveMember(_groupId, "doctor_as_patient", Jwt("patient"))));
        Refused(ErrorCodes.Forbidden, await Ask<SuccessResponse>(group, new RemoveMember(_groupId, "patient", Jwt("doctor_as_patient"))));
        Refused(ErrorCodes.Forbidden, await Ask<SuccessResponse>(group, new RemoveMember(_groupId, "patient", Jwt("outsider"))));
        // Leaving is a removal too, and a patient may not remove anyone.
        Refused(ErrorCodes.Forbidden, await Ask<SuccessResponse>(group, new RemoveMember(_groupId, "patient", Jwt("patient"))));
        // 403 before 2001 and 2003.
        Refused(ErrorCodes.Forbidden, await Ask<SuccessResponse>(group, new RemoveMember(_groupId, "ghost", Jwt("patient"))));
        Refused(ErrorCodes.Forbidden, await Ask<SuccessResponse>(group, new RemoveMember(_groupId, "outsider", Jwt("patient"))));

        Assert.Equal(["creator", "patient", "doctor_as_patient"], (await _store.GetMembers(_groupId)).Select(m => m.UserId));
    }

    [Fact]
    public async Task Should_check_removals_in_header_mode_too()
    {
        var group = await GroupWith(("patient", UserRoles.Patient, UserRoles.Patient), ("other", UserRoles.Patient, UserRoles.Patient));

        Refused(ErrorCodes.Forbidden, await Ask<SuccessResponse>(group, new RemoveMember(_groupId, "other", Caller.FromHeader("patient"))));
        Refused(ErrorCodes.Forbidden, await Ask<SuccessResponse>(group, new RemoveMember(_groupId, "other", Caller.FromHeader("outsider"))));
        Refused(ErrorCodes.Forbidden, await Ask<SuccessResponse>(group, new RemoveMember(_groupId, "other", V02)));
        Assert.Equal(3, (await _store.GetMembers(_groupId)).Count);

        Ok(await Ask<SuccessResponse>(group, new RemoveMember(_groupId, "other", Caller.FromHeader("creator"))));
        Assert.Equal(["creator", "patient"], (await _store.GetMembers(_groupId)).Select(m => m.UserId));
    }

    [Fact]
    public async Task Should_answer_2003_for_removing_a_non_member_and_2001_for_an_unknown_user()
    {
        var group = await GroupWith();
        await _store.CreateUser("outsider", "o", UserRoles.Patient);

        Refused(ErrorCodes.NotMember, await Ask<SuccessResponse>(group, new RemoveMember(_groupId, "outsider", Jwt("creator"))));
        Refused(ErrorCodes.UserNotFound, await Ask<SuccessResponse>(group, new RemoveMember(_groupId, "ghost", Jwt("creator"))));
        Refused(ErrorCodes.UserNotFound, await Ask<SuccessResponse>(group, new RemoveMember(_groupId, "ghost", Admin)));

        Assert.Equal(["creator"], (await _store.GetMembers(_groupId)).Select(m => m.UserId));
    }

    [Fact]
    public async Task Should_neither_push_to_nor_accept_from_a_removed_member()
    {
        var group = await GroupWith(("patient", UserRoles.Patient, UserRoles.Patient));
        var events = await _server.Redis.GetSubscriber().SubscribeAsync(_store.Keys.GroupEvents(_groupId));
        await Send(group, "creator", "before");
        Assert.Equal(["creator", "patient"], (await ReadEvent(events)).Recipients.Order());

        Ok(await Ask<SuccessResponse>(group, new RemoveMember(_groupId, "patient", Jwt("creator"))));
        Refused(ErrorCodes.NotMember, await Ask(group, new SendMessage(_groupId, "patient", "still here?", null)));
        var after = await Send(group, "creator", "after");

        // The refused send published nothing: the next event is the later message, and the patient is not among its recipients.
        var published = await ReadEvent(events);
        Assert.Equal((after.MessageId, 2L), (published.Message.MessageId, published.Message.Seq));
        Assert.Equal(["creator"], published.Recipients);
        await events.UnsubscribeAsync();
        await _aiPipeline.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
        // A fresh entity loads the removal from the store.
        var restarted = StartGroup();
        Refused(ErrorCodes.NotMember, await Ask(restarted, new SendMessage(_groupId, "patient", "after a restart", null)));
    }

    // ---- idempotent sends ----

    [Fact]
    public async Task Should_answer_a_repeated_client_msg_id_with_the_first_message_and_forward_it_once()
    {
        var group = await GroupWith(("patient", UserRoles.Patient, UserRoles.Patient));

        var first = Ok(await Ask(group, new SendMessage(_groupId, "patient", "我头疼", "c-1")));
        var again = Ok(await Ask(group, new SendMessage(_groupId, "patient", "我头疼", "c-1")));

        Assert.False(first.Replayed);
        Assert.True(again.Replayed);
        Assert.Equal((first.Message.MessageId, first.Message.Seq), (again.Message.MessageId, again.Message.Seq));
        Assert.Equal(first.Message, again.Message);
        var forward = await _aiPipeline.ExpectMsgAsync<AiPipeline.Call>();
        Assert.Equal(first.Message.MessageId, forward.UserMessageId);
        // The entity tells the router before it replies, so a second forward would already be queued.
        await _aiPipeline.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
        Assert.Equal(1, (await _store.ListMessages(_groupId, new PageRequest(1, 20))).Total);
        Assert.Equal(1, (await _store.ListRecords(_groupId, new PageRequest(1, 20))).Total);
        Assert.Equal(2, (await Send(group, "creator", "next")).Seq);
    }

    [Fact]
    public async Task Should_refuse_a_client_msg_id_reused_for_other_content()
    {
        var group = await GroupWith(("patient", UserRoles.Patient, UserRoles.Patient));
        var first = Ok(await Ask(group, new SendMessage(_groupId, "patient", "我头疼", "c-1")));
        await _aiPipeline.ExpectMsgAsync<AiPipeline.Call>();

        Refused(ErrorCodes.IdempotencyConflict, await Ask(group, new SendMessage(_groupId, "patient", "我发烧", "c-1")));

        await _aiPipeline.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
        Assert.Equal([first.Message], (await _store.ListMessages(_groupId, new PageRequest(1, 20))).Messages);
        // Another sender's same id is theirs alone.
        Assert.False(Ok(await Ask(group, new SendMessage(_groupId, "creator", "我发烧", "c-1"))).Replayed);
    }

    // ---- images ----

    /// <summary>An image in the store as an upload leaves it; the bytes do not matter to the writer.</summary>
    private Task<MediaResponse> Uploaded(string groupId, string uploader) =>
        _store.StoreMedia(groupId, uploader, MediaTypes.Png, [1, 2, 3], 64, 48, new string('a', 64));

    private SendMessage SendImage(string sender, string mediaId, string? clientMsgId = null) =>
        new(_groupId, sender, mediaId, clientMsgId, MessageTypes.Image);

    [Fact]
    public async Task Should_send_an_image_of_the_group_with_its_media()
    {
        var group = await GroupWith(("doctor", UserRoles.Doctor, UserRoles.Doctor));
        var media = await Uploaded(_groupId, "doctor");
        var events = await _server.Redis.GetSubscriber().SubscribeAsync(_store.Keys.GroupEvents(_groupId));

        var sent = Ok(await Ask(group, SendImage("doctor", media.MediaId))).Message;

        Assert.Equal((MessageTypes.Image, media.MediaId, media.Info), (sent.MsgType, sent.MsgContent, sent.Media));
        Assert.Equal(sent, await _store.GetMessage(sent.MessageId));
        Assert.Equal(MessageSentFrame.From(sent, null), (await ReadEvent(events)).Message);
        await events.UnsubscribeAsync();
    }

    [Fact]
    public async Task Should_refuse_an_image_send_naming_no_image_of_the_group_and_store_nothing()
    {
        var group = await GroupWith(("patient", UserRoles.Patient, UserRoles.Patient));
        var otherGroup = Ids.NewGroupId(DateTimeOffset.UtcNow);
        Assert.NotNull(await _store.CreateGroup(otherGroup, "other", null, "creator"));
        var elsewhere = await Uploaded(otherGroup, "creator");
        var events = await _server.Redis.GetSubscriber().SubscribeAsync(_store.Keys.GroupEvents(_groupId));

        foreach (var mediaId in new[] { "media_20250101000000_unknown1", elsewhere.MediaId })
        {
            var refused = await Ask(group, SendImage("patient", mediaId, clientMsgId: "c-" + mediaId));
            Refused(ErrorCodes.InvalidParameter, refused);
            Assert.Equal("content", refused.Error!.Details?["field"]);
        }

        Assert.Equal(0, (await _store.ListMessages(_groupId, new PageRequest(1, 20))).Total);
        Assert.Equal(0, (await _store.ListMessages(otherGroup, new PageRequest(1, 20))).Total);
        Assert.Equal(0, (await _store.ListRecords(_groupId, new PageRequest(1, 20))).Total);
        await _aiPipeline.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
        // Nothing was published and no seq was taken: the next message is the first.
        var next = await Send(group, "creator", "next");
        Assert.Equal(1, next.Seq);
        Assert.Equal(next.MessageId, (await ReadEvent(events)).Message.MessageId);
        await events.UnsubscribeAsync();
        // Nor was the client_msg_id spent: the same id stores once the image is one of the group's.
        var own = await Uploaded(_groupId, "patient");
        Assert.False(Ok(await Ask(group, SendImage("patient", own.MediaId, "c-" + elsewhere.MediaId))).Replayed);
    }

    [Fact]
    public async Task Should_forward_a_patients_image_to_the_ai_router_like_text()
    {
        var group = await GroupWith(("patient", UserRoles.Patient, UserRoles.Patient));
        var media = await Uploaded(_groupId, "patient");

        var sent = Ok(await Ask(group, SendImage("patient", media.MediaId))).Message;

        var forward = await _aiPipeline.ExpectMsgAsync<AiPipeline.Call>();
        Assert.Equal((_groupId, sent.MessageId, sent.Seq), (forward.GroupId, forward.UserMessageId, forward.ContextToSeq));
        var record = await _store.GetRecord(forward.RecordId);
        Assert.Equal((AiRecordStatus.Pending, sent.MessageId), (record!.Status, record.UserMessageId));
    }

    [Fact]
    public async Task Should_refuse_a_client_msg_id_reused_across_text_and_image()
    {
        // The content must name an image of the group for an IMAGE send to reach the idempotency
        // check at all; the same text under the other type is then another message.
        var group = await GroupWith(("patient", UserRoles.Patient, UserRoles.Patient));
        var media = await Uploaded(_groupId, "patient");

        var text = Ok(await Ask(group, new SendMessage(_groupId, "patient", media.MediaId, "c-1")));
        Refused(ErrorCodes.IdempotencyConflict, await Ask(group, SendImage("patient", media.MediaId, "c-1")));
        var image = Ok(await Ask(group, SendImage("patient", media.MediaId, "c-2")));
        Refused(ErrorCodes.IdempotencyConflict, await Ask(group, new SendMessage(_groupId, "patient", media.MediaId, "c-2")));
        var again = Ok(await Ask(group, SendImage("patient", media.MediaId, "c-2")));

        Assert.Equal((MessageTypes.Text, (MediaInfo?)null), (text.Message.MsgType, text.Message.Media));
        Assert.True(again.Replayed);
        Assert.Equal(image.Message, again.Message);
        Assert.Equal(media.Info, again.Message.Media);
        Assert.Equal(2, (await _store.ListMessages(_groupId, new PageRequest(1, 20))).Total);
        Assert.Equal(2, (await _aiPipeline.ReceiveNAsync(2).ToListAsync()).Count);
        await _aiPipeline.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    /// <summary>The next message's event: who it goes to and its <c>message_sent</c> frame (other events are skipped).</summary>
    private static async Task<(IReadOnlyList<string> Recipients, MessageSentFrame Message)> ReadEvent(ChannelMessageQueue events)
    {
        using var timeout = new CancellationTokenSource(AskTimeout);
        while (true)
        {
            var message = await events.ReadAsync(timeout.Token);
            var pushed = Pushed.Read(message);
            if (pushed.Frame.GetProperty("type").GetString() == FrameTypes.MessageSent)
                return (pushed.Recipients, pushed.Frame.Deserialize<MessageSentFrame>(ImJson.Options)!);
        }
    }

    // ---- the store unavailable ----

    [Fact]
    public async Task Should_answer_503_when_the_store_cannot_be_reached()
    {
        var options = ConfigurationOptions.Parse($"127.0.0.1:{Ports.FreeLoopbackPort()}");
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = 500;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        await using var nowhere = await ConnectionMultiplexer.ConnectAsync(options);
        var group = StartGroup(store: StoreServer.NewStore(nowhere, StoreServer.UniquePrefix()));

        Refused(ErrorCodes.ServiceUnavailable, await Ask<SentMessage>(group, new SendMessage(_groupId, "someone", "hi", null)));
        await _shard.ExpectMsgAsync<Passivate>();
    }

    [Fact]
    public async Task Should_answer_503_while_the_store_is_down_and_recover_after()
    {
        await using var redisServer = await RedisServer.Start();
        var options = ConfigurationOptions.Parse(redisServer.ConnectionString);
        options.AbortOnConnectFail = false;
        options.AsyncTimeout = 1000;
        options.SyncTimeout = 1000;
        options.ReconnectRetryPolicy = new LinearRetry(100);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(options);
        var store = StoreServer.NewStore(redis, StoreServer.UniquePrefix());
        await store.CreateUser("creator", "c", UserRoles.Doctor);
        var group = StartGroup(store: store);
        Ok(await Ask<GroupResponse>(group, new CreateGroup(_groupId, "g", null, "creator", V02)));
        var first = await Send(group, "creator", "before");

        await redisServer.Stop();
        Refused(ErrorCodes.ServiceUnavailable, await Ask<SentMessage>(group, new SendMessage(_groupId, "creator", "while down", null)));

        await redisServer.Launch();
        MessageResponse? after = null;
        await Eventually.True(async () =>
        {
            var outcome = await Ask<SentMessage>(group, new SendMessage(_groupId, "creator", "after", null));
            after = outcome.Value?.Message;
            return after is not null;
        }, TimeSpan.FromSeconds(20), "a send to succeed once the store is back");

        var stored = await store.ListMessages(_groupId, new PageRequest(1, 100));
        Assert.Equal(after!.Seq, stored.Total);
        Assert.Equal(first, stored.Messages[^1]);
        Assert.Equal(Enumerable.Range(1, (int)stored.Total).Reverse().Select(i => (long)i), stored.Messages.Select(m => m.Seq));
    }

    // ---- passivation ----

    [Fact]
    public async Task Should_passivate_when_idle()
    {
        await _store.CreateUser("creator", "c", UserRoles.Doctor);
        var group = StartGroup(passivateAfter: TimeSpan.FromMilliseconds(300));
        Ok(await Ask<GroupResponse>(group, new CreateGroup(_groupId, "g", null, "creator", V02)));

        await _shard.ExpectMsgAsync<Passivate>(TimeSpan.FromSeconds(5));
    }
}
