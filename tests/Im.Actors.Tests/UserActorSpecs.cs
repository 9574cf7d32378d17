using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.TestKit;
using Im.Actors.Storage;
using Im.Actors.Tests.Support;
using Im.Actors.Users;
using Im.Contracts;
using Xunit.Abstractions;
using static Im.Actors.Users.UserCommands;

namespace Im.Actors.Tests;

/// <summary>
/// Who may create users and change their roles, through the UserActor over a real store (embedded
/// Garnet), with a probe as its parent (the shard) to see it passivate.
/// </summary>
public sealed class UserActorSpecs : Akka.TestKit.Xunit2.TestKit, IClassFixture<GarnetStoreServer>
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);
    private static readonly Caller Admin = Caller.FromToken("root", isAdmin: true);
    private static readonly Caller Member = Caller.FromToken("alice", isAdmin: false);

    private readonly ImStore _store;
    private readonly TestProbe _shard;

    public UserActorSpecs(GarnetStoreServer server, ITestOutputHelper output) : base(ActorSpecs.SerializingConfig, output: output)
    {
        _store = server.NewStore();
        _shard = CreateTestProbe("shard");
    }

    private IActorRef StartUser() =>
        Sys.ActorOf(ShardStandIn.Props(UserActor.Props(_store, TimeSpan.FromMinutes(1)), _shard.Ref));

    private Task<Outcome<UserResponse>> Ask(IActorRef user, IRepliedWith<UserResponse> command) =>
        this.AskThroughProbe(user, command, AskTimeout);

    private static UserResponse Ok(Outcome<UserResponse> outcome)
    {
        Assert.Null(outcome.Error);
        return Assert.IsType<UserResponse>(outcome.Value);
    }

    private static void Refused(string code, Outcome<UserResponse> outcome)
    {
        Assert.Null(outcome.Value);
        Assert.Equal(code, outcome.Error?.Code);
    }

    // ---- creating ----

    [Fact]
    public async Task Should_refuse_a_token_user_who_is_no_admin_creating_a_user()
    {
        var user = StartUser();

        Refused(ErrorCodes.Forbidden, await Ask(user, new CreateUser("user_new", "n", UserRoles.Doctor, Member)));

        Assert.IsType<StopEntity>((await _shard.ExpectMsgAsync<Passivate>()).StopMessage);
        Assert.False(await _store.UserExists("user_new"));
    }

    [Fact]
    public async Task Should_let_an_admin_create_a_user()
    {
        var user = StartUser();

        var created = Ok(await Ask(user, new CreateUser("user_new", "张三", UserRoles.Doctor, Admin)));

        Assert.Equal(("user_new", "张三", UserRoles.Doctor), (created.UserId, created.Username, created.UserRole));
        Assert.Equal(created, await _store.GetUser("user_new"));
        await _shard.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("alice")]
    public async Task Should_let_any_header_caller_create_a_user(string? callerId)
    {
        var user = StartUser();

        Ok(await Ask(user, new CreateUser("user_new", "n", UserRoles.Patient, Caller.FromHeader(callerId))));

        Assert.True(await _store.UserExists("user_new"));
    }

    // ---- changing a role ----

    [Fact]
    public async Task Should_refuse_a_token_user_who_is_no_admin_changing_a_role()
    {
        await _store.CreateUser("patient", "p", UserRoles.Patient);
        var user = StartUser();

        Refused(ErrorCodes.Forbidden, await Ask(user, new UpdateUserRole("patient", UserRoles.Doctor, Member)));
        // Not even their own.
        Refused(ErrorCodes.Forbidden, await Ask(user, new UpdateUserRole("patient", UserRoles.Doctor, Caller.FromToken("patient", false))));

        await _shard.ExpectMsgAsync<Passivate>();
        Assert.Equal(UserRoles.Patient, (await _store.GetUser("patient"))!.UserRole);
    }

    [Fact]
    public async Task Should_let_admins_and_header_callers_change_a_role()
    {
        await _store.CreateUser("patient", "p", UserRoles.Patient);
        var user = StartUser();

        Assert.Equal(UserRoles.Doctor, Ok(await Ask(user, new UpdateUserRole("patient", UserRoles.Doctor, Admin))).UserRole);
        Assert.Equal(UserRoles.AiAssistant,
            Ok(await Ask(user, new UpdateUserRole("patient", UserRoles.AiAssistant, Caller.FromHeader(null)))).UserRole);

        Assert.Equal(UserRoles.AiAssistant, (await _store.GetUser("patient"))!.UserRole);
    }

    [Fact]
    public async Task Should_answer_an_admin_changing_an_unknown_users_role_2001()
    {
        var user = StartUser();

        Refused(ErrorCodes.UserNotFound, await Ask(user, new UpdateUserRole("ghost", UserRoles.Doctor, Admin)));

        await _shard.ExpectMsgAsync<Passivate>();
        Assert.False(await _store.UserExists("ghost"));
    }

    [Fact]
    public async Task Should_answer_a_non_admin_changing_an_unknown_users_role_403_not_2001()
    {
        var user = StartUser();

        Refused(ErrorCodes.Forbidden, await Ask(user, new UpdateUserRole("ghost", UserRoles.Doctor, Member)));

        await _shard.ExpectMsgAsync<Passivate>();
        Assert.False(await _store.UserExists("ghost"));
    }
}
