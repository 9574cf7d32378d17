using Im.Actors.Groups;
using Im.Actors.Storage;
using Im.Contracts;

namespace Im.Actors.Tests;

public sealed class GroupRulesSpecs
{
    private static readonly GroupState Absent = GroupState.Absent("group_x");
    private static readonly Caller V02 = Caller.FromHeader(null);
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 9, 0, 0, TimeSpan.Zero);

    private static GroupState Group(params (string User, string Role)[] members) =>
        GroupState.Existing("group_1", members.Select(m => KeyValuePair.Create(m.User, m.Role)));

    [Fact]
    public void Should_refuse_send_to_absent_group_with_3001()
    {
        var decision = Assert.IsType<SendDecision.Refuse>(Absent.DecideSend("user_1", Now));
        Assert.Equal(ErrorCodes.GroupNotFound, decision.Error.Code);
    }

    [Fact]
    public void Should_check_the_user_before_refusing_a_non_member()
    {
        var state = Group(("doctor", UserRoles.Doctor));
        Assert.IsType<SendDecision.RefuseAfterUserCheck>(state.DecideSend("stranger", Now));
    }

    [Fact]
    public void Should_forward_a_patient_members_message_to_the_ai()
    {
        var state = Group(("doctor", UserRoles.Doctor), ("patient", UserRoles.Patient));
        Assert.Equal(new SendDecision.Accept(ForwardToAi: true), state.DecideSend("patient", Now));
    }

    [Theory]
    [InlineData(UserRoles.Doctor)]
    [InlineData(UserRoles.AiAssistant)]
    public void Should_accept_without_forwarding_for_other_roles(string role)
    {
        var state = Group(("member", role));
        Assert.Equal(new SendDecision.Accept(ForwardToAi: false), state.DecideSend("member", Now));
    }

    [Fact]
    public void Should_decide_by_group_role_only()
    {
        // Same user id, different groups: what the user is in this group is what counts.
        var asPatient = Group(("dr_li", UserRoles.Patient));
        var asDoctor = Group(("dr_li", UserRoles.Doctor));

        Assert.Equal(new SendDecision.Accept(true), asPatient.DecideSend("dr_li", Now));
        Assert.Equal(new SendDecision.Accept(false), asDoctor.DecideSend("dr_li", Now));
    }

    [Fact]
    public void Should_compare_roles_exactly()
    {
        var state = Group(("lower", "patient"));
        Assert.Equal(new SendDecision.Accept(false), state.DecideSend("lower", Now));
    }

    [Fact]
    public void Should_refuse_add_to_absent_group_with_3001()
    {
        var decision = Assert.IsType<MemberDecision.Refuse>(Absent.DecideAdd("user_1", V02));
        Assert.Equal(ErrorCodes.GroupNotFound, decision.Error.Code);
    }

    [Fact]
    public void Should_refuse_adding_a_member_again_with_2002()
    {
        var decision = Assert.IsType<MemberDecision.Refuse>(Group(("user_1", UserRoles.Patient)).DecideAdd("user_1", V02));
        Assert.Equal(ErrorCodes.AlreadyMember, decision.Error.Code);
    }

    [Fact]
    public void Should_add_a_non_member_if_the_user_exists() =>
        Assert.IsType<MemberDecision.AddIfUserExists>(Group(("user_1", UserRoles.Doctor)).DecideAdd("user_2", V02));

    [Fact]
    public void Should_make_a_group_exist_when_its_creator_joins()
    {
        var state = Absent.WithMember("creator", UserRoles.Doctor);

        Assert.True(state.Exists);
        Assert.Equal(new SendDecision.Accept(false), state.DecideSend("creator", Now));
        Assert.False(Absent.Exists);
    }

    [Fact]
    public void Should_push_to_the_members_at_the_time_of_storing()
    {
        var before = Group(("doctor", UserRoles.Doctor), ("patient", UserRoles.Patient));
        var after = before.WithMember("nurse", UserRoles.Doctor);

        Assert.Equal(["doctor", "patient"], before.Recipients().Order());
        Assert.Equal(["doctor", "nurse", "patient"], after.Recipients().Order());
        Assert.Empty(Absent.Recipients());
    }

    // ---- stopping and retrying an AI reply ----

    private static readonly Caller Doctor = Caller.FromToken("doctor", isAdmin: false);
    private static readonly Caller Patient = Caller.FromToken("patient", isAdmin: false);

    private static StoredAiRecord Record(string groupId = "group_1", int status = AiRecordStatus.Pending, long? contextTo = 3) =>
        new(new AiInteractionResponse(1, "record_1", groupId, "msg_1", null, "http://ai", status, null, null, "t", "t",
            ContextFromSeq: 1, ContextToSeq: contextTo), AskedBy: "patient");

    private static GroupState WithOpen(GroupState state) =>
        state.WithOpenRecord(new Im.Actors.Storage.OpenAiRecord("record_1", "msg_1", "patient", 1, 1, 3));

    private static readonly GroupState Consultation = Group(("doctor", UserRoles.Doctor), ("patient", UserRoles.Patient), ("other", UserRoles.Patient));

    [Fact]
    public void Should_stop_an_open_record_for_the_patient_who_asked_and_for_doctors()
    {
        Assert.Null(WithOpen(Consultation).DecideStop(Record(), Patient));
        Assert.Null(WithOpen(Consultation).DecideStop(Record(), Doctor));
    }

    [Fact]
    public void Should_refuse_a_stop_in_order_unknown_then_forbidden_then_invalid_state()
    {
        Assert.Equal(ErrorCodes.RecordNotFound, Consultation.DecideStop(null, Doctor)?.Code);
        Assert.Equal(ErrorCodes.RecordNotFound, Consultation.DecideStop(Record(groupId: "group_2"), Doctor)?.Code);
        Assert.Equal(ErrorCodes.RecordNotFound, Absent.DecideStop(Record(groupId: "group_x"), Doctor)?.Code);
        Assert.Equal(ErrorCodes.Forbidden, Consultation.DecideStop(Record(status: AiRecordStatus.Succeeded), Caller.FromToken("other", false))?.Code);
        Assert.Equal(ErrorCodes.InvalidState, Consultation.DecideStop(Record(status: AiRecordStatus.Succeeded), Patient)?.Code);
        // Open in the store but not this writer's: never its call, so not stoppable here.
        Assert.Equal(ErrorCodes.InvalidState, Consultation.DecideStop(Record(), Doctor)?.Code);
    }

    [Fact]
    public void Should_retry_a_closed_record_without_a_reply_for_doctors_only()
    {
        Assert.Null(Consultation.DecideRetry(Record(status: AiRecordStatus.Failed), Doctor));
        Assert.Equal(ErrorCodes.RecordNotFound, Consultation.DecideRetry(null, Doctor)?.Code);
        Assert.Equal(ErrorCodes.Forbidden, Consultation.DecideRetry(Record(status: AiRecordStatus.Failed), Patient)?.Code);
        Assert.Equal(ErrorCodes.InvalidState, Consultation.DecideRetry(Record(status: AiRecordStatus.Succeeded), Doctor)?.Code);
        Assert.Equal(ErrorCodes.InvalidState, WithOpen(Consultation).DecideRetry(Record(), Doctor)?.Code);
        Assert.Equal(ErrorCodes.InvalidState, Consultation.DecideRetry(Record(status: AiRecordStatus.Failed, contextTo: null), Doctor)?.Code);
    }

    // ---- the group's AI mode and the pause after a doctor's message ----

    private static GroupState WithAi(string aiMode = AiModes.Auto, int pause = 0, DateTimeOffset? pausedUntil = null) =>
        Group(("doctor", UserRoles.Doctor), ("patient", UserRoles.Patient), ("assistant", UserRoles.AiAssistant)) with
        {
            AiMode = aiMode,
            PauseAfterDoctorSeconds = pause,
            AiPausedUntil = pausedUntil,
        };

    [Fact]
    public void Should_forward_nothing_and_pause_nothing_when_the_ai_is_off()
    {
        var state = WithAi(AiModes.Off, pause: 600);
        Assert.Equal(new SendDecision.Accept(ForwardToAi: false), state.DecideSend("patient", Now));
        Assert.Equal(new SendDecision.Accept(ForwardToAi: false), state.DecideSend("doctor", Now));
    }

    [Fact]
    public void Should_pause_the_ai_for_the_groups_pause_when_a_doctor_member_writes()
    {
        Assert.Equal(new SendDecision.Accept(ForwardToAi: false, PausesAiUntil: Now.AddSeconds(600)),
            WithAi(pause: 600).DecideSend("doctor", Now));
        // No pause set, or not a doctor of this group: nothing paused.
        Assert.Equal(new SendDecision.Accept(ForwardToAi: false), WithAi(pause: 0).DecideSend("doctor", Now));
        Assert.Equal(new SendDecision.Accept(ForwardToAi: false), WithAi(pause: 600).DecideSend("assistant", Now));
    }

    [Fact]
    public void Should_forward_a_patients_message_only_once_the_pause_has_ended()
    {
        var paused = WithAi(pause: 600, pausedUntil: Now.AddSeconds(600));
        Assert.Equal(new SendDecision.Accept(ForwardToAi: false), paused.DecideSend("patient", Now));
        Assert.Equal(new SendDecision.Accept(ForwardToAi: false), paused.DecideSend("patient", Now.AddSeconds(599)));
        Assert.Equal(new SendDecision.Accept(ForwardToAi: true), paused.DecideSend("patient", Now.AddSeconds(600)));
    }

    [Fact]
    public void Should_let_a_doctor_member_or_an_admin_set_the_ai_mode_and_refuse_anyone_else()
    {
        var state = WithAi();
        Assert.Null(state.DecideSetAi(Caller.FromHeader("doctor")));
        Assert.Null(state.DecideSetAi(Caller.FromToken("operator", isAdmin: true)));
        Assert.Equal(ErrorCodes.Forbidden, state.DecideSetAi(Caller.FromHeader("patient"))!.Code);
        Assert.Equal(ErrorCodes.Forbidden, state.DecideSetAi(Caller.FromHeader("stranger"))!.Code);
        Assert.Equal(ErrorCodes.Forbidden, state.DecideSetAi(Caller.FromToken("patient", isAdmin: false))!.Code);
        // The group comes first: 404 before 403.
        Assert.Equal(ErrorCodes.GroupNotFound, Absent.DecideSetAi(Caller.FromHeader("stranger"))!.Code);
    }

    [Fact]
    public void Should_keep_a_running_pause_when_the_settings_change()
    {
        var paused = WithAi(pause: 600, pausedUntil: Now.AddSeconds(600));
        var changed = paused.WithAiSettings(new GroupAiResponse("group_1", AiModes.Auto, 0, "doctor", "2026-11-26T09:00:00Z"));
        Assert.Equal((AiModes.Auto, 0, Now.AddSeconds(600)), (changed.AiMode, changed.PauseAfterDoctorSeconds, changed.AiPausedUntil));
    }
}
