using Akka.Actor;
using Akka.TestKit;
using Im.Actors.Groups;
using Im.Actors.Queries;
using static Im.Actors.Queries.Queries;
using Im.Actors.Storage;
using Im.Actors.Tests.Support;
using Im.Contracts;
using Xunit.Abstractions;

namespace Im.Actors.Tests;

/// <summary>
/// Who may read what, through the QueryActor over a real store (embedded Garnet). The data is
/// written straight into the store: two groups, g1 (doctor and patient, a question with its AI
/// record and an answer) and g2 (stranger alone, one message).
/// </summary>
public sealed class QueryActorSpecs : Akka.TestKit.Xunit2.TestKit, IClassFixture<GarnetStoreServer>
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);
    private static readonly PageRequest Page = new(1, 20);
    private static readonly Caller Admin = Caller.FromToken("root", isAdmin: true);

    /// <summary>What each read of g1 answers when allowed, as <see cref="Read"/> describes it.</summary>
    private static readonly Dictionary<string, string> G1 = new()
    {
        [nameof(GetGroup)] = "g1 Cardiology",
        [nameof(GetMembers)] = "doctor,patient",
        [nameof(ListMessages)] = "多喝水,头疼",
        [CatchUp] = "头疼,多喝水",
        [nameof(GetMessage)] = "头疼",
        [nameof(ListAiInteractions)] = "1 record(s)",
    };

    private const string CatchUp = "ListMessagesAfter";

    private readonly ImStore _store;
    private readonly IActorRef _queries;
    private readonly TestProbe _groups;
    private string _recordId = "";
    private readonly Dictionary<string, string> _firstMessageOf = [];

    public QueryActorSpecs(GarnetStoreServer server, ITestOutputHelper output) : base(ActorSpecs.SerializingConfig, output: output)
    {
        _store = server.NewStore();
        _groups = CreateTestProbe("groups");
        _queries = Sys.ActorOf(QueryActor.Props(_store, _groups.Ref), "queries");
    }

    public static TheoryData<string> GroupReads => [.. G1.Keys];

    /// <summary>The reads that name a group; <see cref="GetMessage"/> names a message instead.</summary>
    public static TheoryData<string> GroupIdReads => [.. G1.Keys.Where(k => k != nameof(GetMessage))];

    private static Caller Jwt(string userId) => Caller.FromToken(userId, isAdmin: false);

    private async Task Seed()
    {
        await _store.CreateUser("doctor", "Dr. Li", UserRoles.Doctor);
        await _store.CreateUser("patient", "Wang", UserRoles.Patient);
        await _store.CreateUser("stranger", "Zhao", UserRoles.Patient);
        await _store.CreateGroup("g1", "Cardiology", null, "doctor");
        await _store.AddMember("g1", "patient", UserRoles.Patient);
        await _store.CreateGroup("g2", "Elsewhere", null, "stranger");
        var question = await _store.Append(new NewMessage("g1", "patient", MessageTypes.Text, "头疼", ["doctor", "patient"], null,
            new AiRecordChange.Open("http://ai", "node-1", "stand-in", 20, AiModes.Auto)));
        await _store.Append(new NewMessage("g1", "doctor", MessageTypes.Text, "多喝水", ["doctor", "patient"], null, AiRecordChange.None));
        var other = await _store.Append(new NewMessage("g2", "stranger", MessageTypes.Text, "elsewhere", ["stranger"], null,
            AiRecordChange.None));
        _firstMessageOf["g1"] = question.Value!.Message.MessageId;
        _recordId = question.Value.OpenedRecord!.RecordId;
        _firstMessageOf["g2"] = other.Value!.Message.MessageId;
    }

    private Task<Outcome<T>> Ask<T>(IRepliedWith<T> query) where T : class => this.AskThroughProbe(_queries, query, AskTimeout);

    [Fact]
    public async Task Should_hand_a_command_naming_a_record_to_its_groups_writer_which_answers_the_asker_itself()
    {
        await Seed();
        var asker = CreateTestProbe();
        var caller = Caller.FromToken("root", isAdmin: true);

        _queries.Tell(new ToRecordWriter<AiInteractionResponse>(_recordId, groupId => new GroupCommands.StopAiReply(groupId, _recordId, caller)),
            asker.Ref);

        Assert.Equal(new GroupCommands.StopAiReply("g1", _recordId, caller), await _groups.ExpectMsgAsync<GroupCommands.StopAiReply>(AskTimeout));
        _groups.Reply(Outcome<AiInteractionResponse>.Fail(Errors.Forbidden));
        Assert.Equal(ErrorCodes.Forbidden, (await asker.ExpectMsgAsync<Outcome<AiInteractionResponse>>(AskTimeout)).Error!.Code);
    }

    [Fact]
    public async Task Should_answer_a_command_naming_an_unknown_record_404_and_start_no_writer()
    {
        await Seed();

        var outcome = await Ask(new ToRecordWriter<AiInteractionResponse>("record_20250101000000_unknown1",
            groupId => new GroupCommands.StopAiReply(groupId, "record_20250101000000_unknown1", Jwt("doctor"))));

        Assert.Equal(ErrorCodes.RecordNotFound, outcome.Error!.Code);
        await _groups.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
    }

    /// <summary>One read of a group (for GetMessage, of its first message): the error code, or a short account of the value.</summary>
    private async Task<string> Read(string query, string groupId, Caller caller) => query switch
    {
        nameof(GetGroup) => Describe(await Ask(new GetGroup(groupId, caller)), g => $"{g.GroupId} {g.GroupName}"),
        nameof(GetMembers) => Describe(await Ask(new GetMembers(groupId, caller)),
            m => string.Join(",", m.Members.Select(x => x.UserId))),
        nameof(ListMessages) => Describe(await Ask(new ListMessages(groupId, Page, null, caller)),
            l => string.Join(",", l.Messages.Select(x => x.MsgContent))),
        CatchUp => Describe(await Ask(new ListMessages(groupId, Page, 0, caller)),
            l => string.Join(",", l.Messages.Select(x => x.MsgContent))),
        nameof(GetMessage) => Describe(await Ask(new GetMessage(_firstMessageOf[groupId], caller)), m => m.MsgContent),
        nameof(ListAiInteractions) => Describe(await Ask(new ListAiInteractions(groupId, Page, caller)),
            l => $"{l.Total} record(s)"),
        _ => throw new ArgumentOutOfRangeException(nameof(query), query, null),
    };

    private static string Describe<T>(Outcome<T> outcome, Func<T, string> describe) where T : class =>
        outcome.Error is { } error ? error.Code : describe(outcome.Value!);

    // ---- a group's reads ----

    [Theory]
    [MemberData(nameof(GroupReads))]
    public async Task Should_let_members_of_any_group_role_read(string query)
    {
        await Seed();

        Assert.Equal(G1[query], await Read(query, "g1", Jwt("patient")));
        Assert.Equal(G1[query], await Read(query, "g1", Jwt("doctor")));
    }

    [Theory]
    [MemberData(nameof(GroupReads))]
    public async Task Should_refuse_a_token_non_member_with_403(string query)
    {
        await Seed();

        Assert.Equal(ErrorCodes.Forbidden, await Read(query, "g1", Jwt("stranger")));
        // A caller who is no user at all fares no better.
        Assert.Equal(ErrorCodes.Forbidden, await Read(query, "g1", Jwt("ghost")));
    }

    [Theory]
    [MemberData(nameof(GroupReads))]
    public async Task Should_let_an_admin_read_any_group(string query)
    {
        await Seed();

        Assert.Equal(G1[query], await Read(query, "g1", Admin));
    }

    [Theory]
    [MemberData(nameof(GroupReads))]
    public async Task Should_let_header_callers_read_with_or_without_an_id(string query)
    {
        await Seed();

        Assert.Equal(G1[query], await Read(query, "g1", Caller.FromHeader(null)));
        Assert.Equal(G1[query], await Read(query, "g1", Caller.FromHeader("stranger")));
    }

    [Theory]
    [MemberData(nameof(GroupIdReads))]
    public async Task Should_answer_3001_for_an_unknown_group_before_403(string query)
    {
        await Seed();

        Assert.Equal(ErrorCodes.GroupNotFound, await Read(query, "ghost", Jwt("stranger")));
        Assert.Equal(ErrorCodes.GroupNotFound, await Read(query, "ghost", Admin));
    }

    [Fact]
    public async Task Should_refuse_another_groups_message_to_a_non_member()
    {
        await Seed();

        Assert.Equal(ErrorCodes.Forbidden, await Read(nameof(GetMessage), "g1", Jwt("stranger")));
        Assert.Equal(ErrorCodes.Forbidden, await Read(nameof(GetMessage), "g2", Jwt("patient")));
        Assert.Equal("elsewhere", await Read(nameof(GetMessage), "g2", Jwt("stranger")));
    }

    [Fact]
    public async Task Should_answer_message_not_found_before_403()
    {
        await Seed();

        var outcome = await Ask(new GetMessage("msg_20250127120000_unknown0", Jwt("stranger")));

        Assert.Equal(ErrorCodes.MessageNotFound, outcome.Error?.Code);
    }

    [Fact]
    public async Task Should_refuse_a_removed_member_at_once()
    {
        await Seed();
        Assert.Equal(G1[nameof(GetGroup)], await Read(nameof(GetGroup), "g1", Jwt("patient")));

        await _store.RemoveMember("g1", "patient");

        Assert.Equal(ErrorCodes.Forbidden, await Read(nameof(GetGroup), "g1", Jwt("patient")));
        Assert.Equal(ErrorCodes.Forbidden, await Read(nameof(GetMessage), "g1", Jwt("patient")));
        Assert.Equal(ErrorCodes.Forbidden, (await Ask(new GetUser("doctor", Jwt("patient")))).Error?.Code);
    }

    // ---- users ----

    [Theory]
    [InlineData("stranger", "stranger")]
    [InlineData("patient", "doctor")]
    [InlineData("doctor", "patient")]
    public async Task Should_let_a_user_read_themselves_and_those_they_share_a_group_with(string caller, string userId)
    {
        await Seed();

        var outcome = await Ask(new GetUser(userId, Jwt(caller)));

        Assert.Null(outcome.Error);
        Assert.Equal(userId, outcome.Value!.UserId);
    }

    [Fact]
    public async Task Should_refuse_a_stranger_reading_a_user_before_saying_whether_it_exists()
    {
        await Seed();

        Assert.Equal(ErrorCodes.Forbidden, (await Ask(new GetUser("patient", Jwt("stranger")))).Error?.Code);
        Assert.Equal(ErrorCodes.Forbidden, (await Ask(new GetUser("ghost", Jwt("stranger")))).Error?.Code);
    }

    [Fact]
    public async Task Should_let_admins_and_header_callers_read_any_user()
    {
        await Seed();

        Assert.Equal("Wang", (await Ask(new GetUser("patient", Admin))).Value?.Username);
        Assert.Equal("Wang", (await Ask(new GetUser("patient", Caller.FromHeader(null)))).Value?.Username);
        Assert.Equal("Wang", (await Ask(new GetUser("patient", Caller.FromHeader("stranger")))).Value?.Username);
    }

    [Fact]
    public async Task Should_answer_2001_for_an_unknown_user_to_those_who_may_read_it()
    {
        await Seed();

        Assert.Equal(ErrorCodes.UserNotFound, (await Ask(new GetUser("ghost", Admin))).Error?.Code);
        Assert.Equal(ErrorCodes.UserNotFound, (await Ask(new GetUser("ghost", Caller.FromHeader(null)))).Error?.Code);
        // A token whose subject is no user may ask about itself, and learns it is none.
        Assert.Equal(ErrorCodes.UserNotFound, (await Ask(new GetUser("ghost", Jwt("ghost")))).Error?.Code);
    }

    [Fact]
    public async Task Should_find_a_token_subject_only_when_it_is_a_user()
    {
        await Seed();

        var known = await Ask(new FindTokenSubject("doctor"));
        var unknown = await Ask(new FindTokenSubject("ghost"));

        Assert.Equal(("doctor", UserRoles.Doctor), (known.Value?.UserId, known.Value?.UserRole));
        Assert.Null(unknown.Value);
        Assert.Equal(ErrorCodes.UserNotFound, unknown.Error?.Code);
    }
}
