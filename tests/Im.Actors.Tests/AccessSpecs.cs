using Im.Contracts;

namespace Im.Actors.Tests;

/// <summary>
/// DESIGN.md's authorization table, rule by rule, without an actor system. Group roles are passed
/// as the deciding actor would find them: a role string for a member, null for a non-member.
/// </summary>
public sealed class AccessSpecs
{
    private static readonly Caller HeaderNobody = Caller.FromHeader(null);
    private static readonly Caller HeaderUser = Caller.FromHeader("alice");
    private static readonly Caller JwtUser = Caller.FromToken("alice", isAdmin: false);
    private static readonly Caller Admin = Caller.FromToken("root", isAdmin: true);

    /// <summary>Every group role a member can hold, and null for a non-member.</summary>
    public static TheoryData<string?> AnyGroupRole => new() { UserRoles.Patient, UserRoles.Doctor, UserRoles.AiAssistant, null };

    public static TheoryData<string?> NotDoctor => new() { UserRoles.Patient, UserRoles.AiAssistant, null };

    public static TheoryData<string> MemberRoles => new() { UserRoles.Patient, UserRoles.Doctor, UserRoles.AiAssistant };

    // ---- the callers ----

    [Fact]
    public void Should_build_header_and_token_callers()
    {
        Assert.Equal(new Caller("alice", false, AuthMode.Header), HeaderUser);
        Assert.Equal(new Caller(null, false, AuthMode.Header), HeaderNobody);
        Assert.Equal(new Caller("alice", false, AuthMode.Jwt), JwtUser);
        Assert.Equal(new Caller("root", true, AuthMode.Jwt), Admin);
    }

    [Fact]
    public void Should_open_v02_actions_only_in_header_mode()
    {
        Assert.True(HeaderUser.HasV02Access);
        Assert.True(HeaderNobody.HasV02Access);
        Assert.False(JwtUser.HasV02Access);
        Assert.False(Admin.HasV02Access);
    }

    // ---- managing users ----

    [Fact]
    public void Should_let_only_admins_manage_users_with_tokens()
    {
        Assert.False(JwtUser.MayManageUsers());
        Assert.True(Admin.MayManageUsers());
    }

    [Fact]
    public void Should_let_any_header_caller_manage_users()
    {
        Assert.True(HeaderUser.MayManageUsers());
        Assert.True(HeaderNobody.MayManageUsers());
    }

    // ---- reading a user ----

    [Fact]
    public async Task Should_let_a_user_read_themselves_without_asking_about_groups()
    {
        var asked = new List<string>();

        Assert.True(await JwtUser.MayReadUser("alice", Sharing(asked, true)));

        Assert.Empty(asked);
    }

    [Fact]
    public async Task Should_let_an_admin_read_anyone_without_asking_about_groups()
    {
        var asked = new List<string>();

        Assert.True(await Admin.MayReadUser("bob", Sharing(asked, false)));

        Assert.Empty(asked);
    }

    [Fact]
    public async Task Should_let_header_callers_read_anyone_without_asking_about_groups()
    {
        var asked = new List<string>();

        Assert.True(await HeaderUser.MayReadUser("bob", Sharing(asked, false)));
        Assert.True(await HeaderNobody.MayReadUser("bob", Sharing(asked, false)));

        Assert.Empty(asked);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Should_let_a_token_user_read_another_user_only_when_they_share_a_group(bool share)
    {
        var asked = new List<string>();

        Assert.Equal(share, await JwtUser.MayReadUser("bob", Sharing(asked, share)));

        // The question is asked about the caller: does the caller share a group with bob?
        Assert.Equal(["alice"], asked);
    }

    [Fact]
    public async Task Should_refuse_a_token_caller_without_an_id_without_asking_about_groups()
    {
        var asked = new List<string>();
        var nobody = new Caller(null, false, AuthMode.Jwt);

        Assert.False(await nobody.MayReadUser("bob", Sharing(asked, true)));

        Assert.Empty(asked);
    }

    // ---- creating a group ----

    [Fact]
    public void Should_let_a_token_user_create_a_group_only_with_system_role_doctor()
    {
        Assert.True(JwtUser.MayCreateGroup(UserRoles.Doctor));
        Assert.False(JwtUser.MayCreateGroup(UserRoles.Patient));
        Assert.False(JwtUser.MayCreateGroup(UserRoles.AiAssistant));
        // An unknown creator has no role.
        Assert.False(JwtUser.MayCreateGroup(null));
    }

    [Theory]
    [MemberData(nameof(AnyGroupRole))]
    public void Should_let_admins_and_header_callers_create_groups_whatever_the_role(string? systemRole)
    {
        Assert.True(Admin.MayCreateGroup(systemRole));
        Assert.True(HeaderUser.MayCreateGroup(systemRole));
    }

    [Fact]
    public void Should_make_the_header_caller_the_creator_whatever_created_by_says()
    {
        Assert.Equal("alice", Created(HeaderUser.CreatorOf(null)));
        Assert.Equal("alice", Created(HeaderUser.CreatorOf("bob")));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("alice")]
    public void Should_make_the_token_user_the_creator_when_naming_nobody_else(string? createdBy) =>
        Assert.Equal("alice", Created(JwtUser.CreatorOf(createdBy)));

    [Fact]
    public void Should_refuse_a_token_user_naming_someone_else_as_creator()
    {
        var outcome = JwtUser.CreatorOf("bob");

        Assert.Null(outcome.Value);
        Assert.Equal(ErrorCodes.Forbidden, outcome.Error?.Code);
    }

    [Fact]
    public void Should_make_the_user_an_admin_names_the_creator()
    {
        Assert.Equal("bob", Created(Admin.CreatorOf("bob")));
        // An admin may name their own id too: whether that user exists is the group's check.
        Assert.Equal("root", Created(Admin.CreatorOf("root")));
    }

    [Fact]
    public void Should_refuse_an_admin_naming_no_creator_as_invalid_created_by()
    {
        var outcome = Admin.CreatorOf(null);

        Assert.Null(outcome.Value);
        Assert.Equal(ErrorCodes.InvalidParameter, outcome.Error?.Code);
        Assert.Equal("created_by", outcome.Error?.Details?["field"]);
    }

    // ---- reading a group, its members, messages and AI records ----

    [Theory]
    [MemberData(nameof(MemberRoles))]
    public void Should_let_members_of_any_role_read_the_group(string groupRole) => Assert.True(JwtUser.MayReadGroup(groupRole));

    [Fact]
    public void Should_refuse_a_token_non_member_reading_the_group() => Assert.False(JwtUser.MayReadGroup(null));

    [Fact]
    public void Should_let_admins_and_header_callers_read_any_group()
    {
        Assert.True(Admin.MayReadGroup(null));
        Assert.True(HeaderUser.MayReadGroup(null));
        Assert.True(HeaderNobody.MayReadGroup(null));
    }

    // ---- adding a member ----

    [Fact]
    public void Should_let_a_token_member_with_group_role_doctor_add_members() => Assert.True(JwtUser.MayAddMember(UserRoles.Doctor));

    [Theory]
    [MemberData(nameof(NotDoctor))]
    public void Should_refuse_token_callers_adding_members_unless_group_doctors(string? groupRole) =>
        Assert.False(JwtUser.MayAddMember(groupRole));

    [Theory]
    [MemberData(nameof(AnyGroupRole))]
    public void Should_let_admins_and_header_callers_add_members(string? groupRole)
    {
        Assert.True(Admin.MayAddMember(groupRole));
        Assert.True(HeaderUser.MayAddMember(groupRole));
        Assert.True(HeaderNobody.MayAddMember(groupRole));
    }

    // ---- removing a member: checked in header mode too ----

    [Fact]
    public void Should_let_group_doctors_remove_members_in_both_modes()
    {
        Assert.True(JwtUser.MayRemoveMember(UserRoles.Doctor));
        Assert.True(HeaderUser.MayRemoveMember(UserRoles.Doctor));
    }

    [Theory]
    [MemberData(nameof(NotDoctor))]
    public void Should_refuse_removals_by_anyone_but_group_doctors_in_both_modes(string? groupRole)
    {
        Assert.False(JwtUser.MayRemoveMember(groupRole));
        Assert.False(HeaderUser.MayRemoveMember(groupRole));
        Assert.False(HeaderNobody.MayRemoveMember(groupRole));
    }

    [Theory]
    [MemberData(nameof(AnyGroupRole))]
    public void Should_let_admins_remove_members(string? groupRole) => Assert.True(Admin.MayRemoveMember(groupRole));

    // ---- AI control ----

    [Fact]
    public void Should_let_group_doctors_control_the_ai_in_both_modes()
    {
        Assert.True(JwtUser.MayControlAi(UserRoles.Doctor));
        Assert.True(HeaderUser.MayControlAi(UserRoles.Doctor));
    }

    [Theory]
    [MemberData(nameof(NotDoctor))]
    public void Should_refuse_ai_control_to_anyone_but_group_doctors_and_admins_in_both_modes(string? groupRole)
    {
        Assert.False(JwtUser.MayControlAi(groupRole));
        Assert.False(HeaderUser.MayControlAi(groupRole));
        Assert.False(HeaderNobody.MayControlAi(groupRole));
        Assert.True(Admin.MayControlAi(groupRole));
    }

    [Fact]
    public void Should_let_the_patient_who_asked_stop_the_reply_while_a_member()
    {
        Assert.True(JwtUser.MayStopAiReply(UserRoles.Patient, askedBy: "alice"));
        Assert.True(HeaderUser.MayStopAiReply(UserRoles.Patient, askedBy: "alice"));
        Assert.False(JwtUser.MayStopAiReply(null, askedBy: "alice"));
        Assert.False(JwtUser.MayStopAiReply(UserRoles.Patient, askedBy: "bob"));
        Assert.False(HeaderNobody.MayStopAiReply(UserRoles.Patient, askedBy: ""));
    }

    [Theory]
    [MemberData(nameof(AnyGroupRole))]
    public void Should_let_group_doctors_and_admins_stop_any_reply(string? groupRole)
    {
        Assert.True(JwtUser.MayStopAiReply(UserRoles.Doctor, askedBy: "bob"));
        Assert.True(Admin.MayStopAiReply(groupRole, askedBy: "bob"));
    }

    // ---- opening a user's socket ----

    [Fact]
    public void Should_open_a_socket_only_to_its_own_user_with_a_token()
    {
        Assert.True(JwtUser.MayOpenSocketOf("alice"));
        Assert.False(JwtUser.MayOpenSocketOf("bob"));
        // Not even an admin listens in on someone else.
        Assert.False(Admin.MayOpenSocketOf("bob"));
        Assert.True(Admin.MayOpenSocketOf("root"));
    }

    [Fact]
    public void Should_open_any_socket_in_header_mode()
    {
        Assert.True(HeaderUser.MayOpenSocketOf("bob"));
        Assert.True(HeaderNobody.MayOpenSocketOf("bob"));
    }

    /// <summary>A share-a-group check that records whom it was asked about.</summary>
    private static Func<string, Task<bool>> Sharing(List<string> asked, bool answer) => self =>
    {
        asked.Add(self);
        return Task.FromResult(answer);
    };

    private static string Created(Outcome<string> outcome)
    {
        Assert.Null(outcome.Error);
        return Assert.IsType<string>(outcome.Value);
    }
}
