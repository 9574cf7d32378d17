using System.Text.Json.Nodes;
using System.Threading.Channels;
using Akka.Actor;
using Akka.TestKit;
using Im.Actors.Events;
using Im.Actors.Groups;
using Im.Actors.Sessions;
using Im.Actors.Storage;
using Im.Actors.Tests.Support;
using Im.Contracts;
using Xunit.Abstractions;

namespace Im.Actors.Tests;

/// <summary>
/// The SessionActor over a real store (embedded Garnet) for its user check, with probes as the
/// group shard region and the node's fan-out. Only the socket is a stand-in: it is the boundary,
/// and the frames the actor queues on it are what a client would read.
/// </summary>
public sealed class SessionActorSpecs : Akka.TestKit.Xunit2.TestKit, IClassFixture<GarnetStoreServer>
{
    private const string UserId = "patient_001";
    private const string GroupId = "g_session_spec";

    // Long enough that a slow, shared CI machine does not turn a slow answer into a failure.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);

    private readonly ImMetrics _metrics = new();
    private readonly ImStore _store;
    private readonly TestProbe _groups;
    private readonly TestProbe _sessions;
    /// <summary>A real QueryActor over the same store: it takes a stop to the writer (the group probe) of its record's group.</summary>
    private readonly IActorRef _queries;

    private SessionSettings Settings => new(TimeSpan.FromSeconds(10), _metrics);

    public SessionActorSpecs(GarnetStoreServer server, ITestOutputHelper output) : base(ActorSpecs.SerializingConfig, output: output)
    {
        _store = server.NewStore();
        _groups = CreateTestProbe("groups");
        _sessions = CreateTestProbe("sessions");
        _queries = Sys.ActorOf(Im.Actors.Queries.QueryActor.Props(_store, _groups.Ref));
        // The node's sessions parent, as far as a session sees it: it answers a registration.
        _sessions.SetAutoPilot(new DelegateAutoPilot((_, message) =>
        {
            if (message is SessionsProtocol.Register register) register.Session.Tell(SessionsProtocol.Registered.Instance);
            return AutoPilot.KeepRunning;
        }));
    }

    private IActorRef StartSession(SocketStandIn socket, SessionSettings? settings = null, SendRateLimiter? sendRate = null,
        string userId = UserId) =>
        Sys.ActorOf(SessionActor.Props(userId, socket, _store, _groups.Ref, _queries, _sessions.Ref, sendRate ?? SendRateLimiter.Unlimited,
            settings ?? Settings));

    /// <summary>A session of a user who exists, past its <c>connected</c> frame.</summary>
    private async Task<(IActorRef Session, SocketStandIn Socket)> Connected(SessionSettings? settings = null,
        SendRateLimiter? sendRate = null, int capacity = 64)
    {
        await _store.CreateUser(UserId, "张三", UserRoles.Patient);
        var socket = new SocketStandIn(capacity);
        var session = StartSession(socket, settings, sendRate);
        Assert.Equal("connected", Type(await socket.NextFrame()));
        await _sessions.ExpectMsgAsync<SessionsProtocol.Register>(Patience);
        return (session, socket);
    }

    private static string? Type(JsonNode frame) => (string?)frame["type"];

    private static void IsError(string code, JsonNode frame, string? clientMsgId = null)
    {
        Assert.Equal("error", Type(frame));
        Assert.Equal(code, (string?)frame["code"]);
        Assert.False(string.IsNullOrWhiteSpace((string?)frame["message"]), "an error frame says what is wrong");
        if (clientMsgId is null)
            Assert.False(frame.AsObject().ContainsKey("client_msg_id"), $"no client_msg_id expected in {frame.ToJsonString()}");
        else
            Assert.Equal(clientMsgId, (string?)frame["client_msg_id"]);
    }

    private static string SendFrame(string content, string? clientMsgId) =>
        new JsonObject { ["type"] = "send_message", ["group_id"] = GroupId, ["content"] = content, ["client_msg_id"] = clientMsgId }
            .ToJsonString();

    private static MessageResponse Stored(string content, long seq) => new(
        40 + seq, $"msg_{seq}", GroupId, UserId, MessageTypes.Text, content, seq, "2025-01-02T03:04:05Z", "2025-01-02T03:04:05Z");

    private static readonly GroupEvent SomeEvent = new AiStateChanged(GroupId, [UserId], "record_1", "msg_1", AiStates.Thinking) { Seq = 7 };

    [Fact]
    public void Should_serialize_every_message() => Assert.True(Sys.Settings.SerializeAllMessages);

    // ---- connecting ----

    [Fact]
    public async Task Should_send_user_not_found_then_close_1008_and_stop_when_user_unknown()
    {
        var socket = new SocketStandIn(8);
        var session = StartSession(socket, userId: "nobody");
        Watch(session);

        IsError(ErrorCodes.UserNotFound, await socket.NextFrame());
        Assert.Equal(SessionActor.PolicyViolation, (await socket.Closed.WaitAsync(Patience)).Status);
        await ExpectTerminatedAsync(session, Patience);
        await _sessions.ExpectNoMsgAsync(Quiet);
        await socket.ExpectNoFrame(TimeSpan.Zero);
    }

    [Fact]
    public async Task Should_say_connected_only_once_its_parent_has_registered_it()
    {
        await _store.CreateUser(UserId, "张三", UserRoles.Patient);
        var parent = CreateTestProbe("quiet-parent");
        var socket = new SocketStandIn(8);

        var session = Sys.ActorOf(SessionActor.Props(UserId, socket, _store, _groups.Ref, _queries, parent.Ref, SendRateLimiter.Unlimited, Settings));
        session.Tell(new SessionProtocol.Inbound("""{"type":"ping"}"""));

        var register = await parent.ExpectMsgAsync<SessionsProtocol.Register>(Patience);
        Assert.Equal((UserId, session), (register.UserId, register.Session));
        await socket.ExpectNoFrame(Quiet);
        session.Tell(SessionsProtocol.Registered.Instance);
        var connected = await socket.NextFrame();
        Assert.Equal("connected", Type(connected));
        Assert.Equal(UserId, (string?)connected["user_id"]);
        Assert.Equal("pong", Type(await socket.NextFrame()));
        Assert.False(socket.Closed.IsCompleted);
    }

    [Fact]
    public async Task Should_close_1013_when_its_parent_does_not_register_it_in_time()
    {
        await _store.CreateUser(UserId, "张三", UserRoles.Patient);
        var parent = CreateTestProbe("silent-parent");
        var socket = new SocketStandIn(8);

        var session = Sys.ActorOf(SessionActor.Props(UserId, socket, _store, _groups.Ref, _queries, parent.Ref, SendRateLimiter.Unlimited,
            Settings with { AskTimeout = TimeSpan.FromMilliseconds(300) }));
        Watch(session);

        await parent.ExpectMsgAsync<SessionsProtocol.Register>(Patience);
        IsError(ErrorCodes.ServiceUnavailable, await socket.NextFrame());
        Assert.Equal(SessionActor.TryAgainLater, (await socket.Closed.WaitAsync(Patience)).Status);
        await ExpectTerminatedAsync(session, Patience);
    }

    [Fact]
    public async Task Should_stop_and_close_the_socket_when_the_socket_has_closed()
    {
        var (session, socket) = await Connected();
        Watch(session);

        session.Tell(SessionProtocol.SocketClosed.Instance);

        await ExpectTerminatedAsync(session, Patience);
        Assert.True(socket.Closed.IsCompleted, "the session's end closes its socket");
    }

    [Fact]
    public async Task Should_answer_frames_sent_before_the_user_check_after_connected()
    {
        await _store.CreateUser(UserId, "张三", UserRoles.Patient);
        var socket = new SocketStandIn(8);

        var session = StartSession(socket);
        session.Tell(new SessionProtocol.Inbound("""{"type":"ping"}"""));

        Assert.Equal("connected", Type(await socket.NextFrame()));
        Assert.Equal("pong", Type(await socket.NextFrame()));
    }

    // ---- frames to the client ----

    [Fact]
    public async Task Should_queue_a_pushed_frame_as_is()
    {
        var (session, socket) = await Connected();
        // Not what the serializer would write (spacing, field order): the push must not be re-encoded.
        const string pushed = """{ "type": "message_sent",  "seq": 7, "content": "你好" }""";

        session.Tell(new SessionsProtocol.Push(SomeEvent, pushed));

        Assert.Equal(pushed, await socket.NextText());
    }

    [Fact]
    public async Task Should_close_1013_and_stop_when_the_outbound_queue_is_full()
    {
        // "connected" has been read; from here the client stops reading, so two pushes fill the queue.
        var (session, socket) = await Connected(capacity: 2);
        Watch(session);

        session.Tell(new SessionsProtocol.Push(SomeEvent, """{"n":1}"""));
        session.Tell(new SessionsProtocol.Push(SomeEvent, """{"n":2}"""));
        session.Tell(new SessionsProtocol.Push(SomeEvent, """{"n":3}"""));

        Assert.Equal(SessionActor.TryAgainLater, (await socket.Closed.WaitAsync(Patience)).Status);
        await ExpectTerminatedAsync(session, Patience);
        Assert.Equal("""{"n":1}""", await socket.NextText());
        Assert.Equal("""{"n":2}""", await socket.NextText());
        await socket.ExpectNoFrame(TimeSpan.Zero);
        // A push counts once it is queued for the socket; the one that did not fit is not one.
        Assert.Equal(2, _metrics.Pushes);
    }

    // ---- frames from the client ----

    [Fact]
    public async Task Should_answer_ping_with_pong()
    {
        var (session, socket) = await Connected();

        session.Tell(new SessionProtocol.Inbound("""{"type":"ping"}"""));

        Assert.Equal(new JsonObject { ["type"] = "pong" }.ToJsonString(), (await socket.NextFrame()).ToJsonString());
    }

    [Fact]
    public async Task Should_refuse_a_binary_frame_as_invalid()
    {
        var (session, socket) = await Connected();

        session.Tell(new SessionProtocol.Inbound(null));

        IsError(ErrorCodes.InvalidFrame, await socket.NextFrame());
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("")]
    [InlineData("""{"type":"ping""")]
    [InlineData("""{"type":"ping","type":"ping"}""")]
    [InlineData("""{"type":"ping","client_msg_id":"a","client_msg_id":"b"}""")]
    public async Task Should_refuse_text_that_is_not_one_json_reading_as_invalid(string text)
    {
        var (session, socket) = await Connected();

        session.Tell(new SessionProtocol.Inbound(text));

        IsError(ErrorCodes.InvalidFrame, await socket.NextFrame());
        await socket.ExpectNoFrame(Quiet);
    }

    [Theory]
    [InlineData("""{"content":"hi"}""", null)]
    [InlineData("""{"type":1,"client_msg_id":"c0"}""", "c0")]
    [InlineData("""{"type":null}""", null)]
    [InlineData("""["ping"]""", null)]
    [InlineData("\"ping\"", null)]
    [InlineData("""{"type":"send\ud800","client_msg_id":"c0"}""", "c0")]
    public async Task Should_refuse_a_frame_without_a_text_type_as_invalid_without_restarting(string text, string? clientMsgId)
    {
        var (session, socket) = await Connected();

        session.Tell(new SessionProtocol.Inbound(text));
        session.Tell(new SessionProtocol.Inbound("""{"type":"ping"}"""));

        IsError(ErrorCodes.InvalidFrame, await socket.NextFrame(), clientMsgId);
        // A restart would run PreStart again: a second "connected" before the pong, and a second Register.
        Assert.Equal("pong", Type(await socket.NextFrame()));
        await socket.ExpectNoFrame(Quiet);
        await _sessions.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public async Task Should_refuse_text_holding_a_lone_surrogate_as_invalid_without_restarting()
    {
        var (session, socket) = await Connected();

        // A raw UTF-16 surrogate, not a JSON escape: the text itself is not Unicode.
        session.Tell(new SessionProtocol.Inbound("{\"type\":\"ping\",\"note\":\"\ud800\"}"));
        session.Tell(new SessionProtocol.Inbound("""{"type":"ping"}"""));

        IsError(ErrorCodes.InvalidFrame, await socket.NextFrame());
        Assert.Equal("pong", Type(await socket.NextFrame()));
        await socket.ExpectNoFrame(Quiet);
        await _sessions.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public async Task Should_refuse_an_unknown_type_echoing_client_msg_id()
    {
        var (session, socket) = await Connected();

        session.Tell(new SessionProtocol.Inbound("""{"type":"subscribe","client_msg_id":"c1"}"""));

        IsError(ErrorCodes.UnknownType, await socket.NextFrame(), "c1");
    }

    [Theory]
    [InlineData("""{"type":"subscribe"}""")]
    [InlineData("""{"type":"subscribe","client_msg_id":null}""")]
    [InlineData("""{"type":"subscribe","client_msg_id":7}""")]
    [InlineData("""{"type":"subscribe","client_msg_id":""}""")]
    [InlineData("""{"type":"subscribe","client_msg_id":"a\u0000b"}""")]
    public async Task Should_leave_client_msg_id_out_of_an_error_when_the_frame_had_no_valid_one(string text)
    {
        var (session, socket) = await Connected();

        session.Tell(new SessionProtocol.Inbound(text));

        IsError(ErrorCodes.UnknownType, await socket.NextFrame(), clientMsgId: null);
    }

    // ---- send_message ----

    [Theory]
    [InlineData("""{"type":"send_message","group_id":"g1","content":"","client_msg_id":"c2"}""", ErrorCodes.ContentEmpty)]
    [InlineData("""{"type":"send_message","group_id":"g1","content":"   ","client_msg_id":"c2"}""", ErrorCodes.ContentEmpty)]
    [InlineData("""{"type":"send_message","group_id":"","content":"hi","client_msg_id":"c2"}""", ErrorCodes.GroupIdEmpty)]
    [InlineData("""{"type":"send_message","content":"hi","client_msg_id":"c2"}""", ErrorCodes.GroupIdEmpty)]
    [InlineData("""{"type":"send_message","group_id":"g1","content":5,"client_msg_id":"c2"}""", ErrorCodes.InvalidParameter)]
    public async Task Should_refuse_an_invalid_send_echoing_client_msg_id_without_asking_the_group(string text, string code)
    {
        var (session, socket) = await Connected();

        session.Tell(new SessionProtocol.Inbound(text));

        IsError(code, await socket.NextFrame(), "c2");
        await _groups.ExpectNoMsgAsync(Quiet);
    }

    [Fact]
    public async Task Should_rate_limit_a_send_before_validating_it()
    {
        using var sendRate = new SendRateLimiter(1, 2);
        var (session, socket) = await Connected(sendRate: sendRate);

        // Invalid sends still take from the bucket: the limit comes first, so a flood of junk is throttled too.
        session.Tell(new SessionProtocol.Inbound("""{"type":"send_message","group_id":"g1","client_msg_id":"a1"}"""));
        session.Tell(new SessionProtocol.Inbound("""{"type":"send_message","group_id":"g1","client_msg_id":"a2"}"""));
        session.Tell(new SessionProtocol.Inbound("""{"type":"send_message","group_id":"g1","client_msg_id":"a3"}"""));

        IsError(ErrorCodes.ContentEmpty, await socket.NextFrame(), "a1");
        IsError(ErrorCodes.ContentEmpty, await socket.NextFrame(), "a2");
        var limited = await socket.NextFrame();
        IsError(ErrorCodes.RateLimited, limited, "a3");
        Assert.True(limited["retry_after"] is JsonValue retry && retry.TryGetValue<int>(out var seconds) && seconds >= 1,
            $"retry_after must be an integer >= 1: {limited.ToJsonString()}");
        await _groups.ExpectNoMsgAsync(Quiet);
    }

    [Fact]
    public async Task Should_leave_retry_after_out_of_other_errors()
    {
        var (session, socket) = await Connected();

        session.Tell(new SessionProtocol.Inbound("""{"type":"subscribe"}"""));

        Assert.False((await socket.NextFrame()).AsObject().ContainsKey("retry_after"));
    }

    [Fact]
    public async Task Should_ask_the_group_and_send_nothing_when_the_message_is_stored()
    {
        var (session, socket) = await Connected();

        session.Tell(new SessionProtocol.Inbound(SendFrame("血压 130/85", "c3")));

        var command = await _groups.ExpectMsgAsync<GroupCommands.SendMessage>(Patience);
        Assert.Equal(new GroupCommands.SendMessage(GroupId, UserId, "血压 130/85", "c3"), command);
        _groups.Reply(Outcome<SentMessage>.Ok(new SentMessage(Stored("血压 130/85", 1), Replayed: false)));
        // The fan-out's push is this send's acknowledgement; a frame here would be a duplicate.
        await socket.ExpectNoFrame(Quiet);

        // The same path does answer when it has something to say, so the quiet above is not a lost reply.
        session.Tell(new SessionProtocol.Inbound(SendFrame("again", "c4")));
        await _groups.ExpectMsgAsync<GroupCommands.SendMessage>(Patience);
        _groups.Reply(Outcome<SentMessage>.Fail(ErrorCodes.NotMember, "not a member"));
        IsError(ErrorCodes.NotMember, await socket.NextFrame(), "c4");
    }

    [Fact]
    public async Task Should_send_message_sent_on_this_connection_when_the_send_is_replayed()
    {
        var (session, socket) = await Connected();
        var earlier = Stored("已经发过", 3);

        session.Tell(new SessionProtocol.Inbound(SendFrame("已经发过", "c5")));
        await _groups.ExpectMsgAsync<GroupCommands.SendMessage>(Patience);
        _groups.Reply(Outcome<SentMessage>.Ok(new SentMessage(earlier, Replayed: true)));

        var frame = await socket.NextFrame();
        Assert.Equal("message_sent", Type(frame));
        Assert.Equal(earlier.Id, (long?)frame["id"]);
        Assert.Equal(earlier.Seq, (long?)frame["seq"]);
        Assert.Equal(earlier.MessageId, (string?)frame["message_id"]);
        Assert.Equal(earlier.GroupId, (string?)frame["group_id"]);
        Assert.Equal(earlier.FromUserId, (string?)frame["from_user_id"]);
        Assert.Equal(earlier.MsgType, (string?)frame["msg_type"]);
        Assert.Equal(earlier.MsgContent, (string?)frame["content"]);
        Assert.Equal(earlier.CreatedAt, (string?)frame["created_at"]);
        Assert.Equal("c5", (string?)frame["client_msg_id"]);
    }

    [Theory]
    [InlineData(ErrorCodes.NotMember)]
    [InlineData(ErrorCodes.GroupNotFound)]
    [InlineData(ErrorCodes.IdempotencyConflict)]
    public async Task Should_send_the_groups_refusal_echoing_client_msg_id(string code)
    {
        var (session, socket) = await Connected();

        session.Tell(new SessionProtocol.Inbound(SendFrame("hello", "c6")));
        await _groups.ExpectMsgAsync<GroupCommands.SendMessage>(Patience);
        _groups.Reply(Outcome<SentMessage>.Fail(code, "refused"));

        IsError(code, await socket.NextFrame(), "c6");
    }

    [Fact]
    public async Task Should_send_service_unavailable_echoing_client_msg_id_when_the_group_does_not_answer_in_time()
    {
        var (session, socket) = await Connected(new SessionSettings(TimeSpan.FromMilliseconds(500), _metrics));

        session.Tell(new SessionProtocol.Inbound(SendFrame("hello", "c7")));
        await _groups.ExpectMsgAsync<GroupCommands.SendMessage>(Patience);

        IsError(ErrorCodes.ServiceUnavailable, await socket.NextFrame(), "c7");
        Assert.Equal(1, _metrics.AskTimeouts);
        // Still usable: a timed-out send is the client's to retry, not a reason to drop the connection.
        session.Tell(new SessionProtocol.Inbound("""{"type":"ping"}"""));
        Assert.Equal("pong", Type(await socket.NextFrame()));
    }

    // ---- stopping an AI reply ----

    /// <summary>A record of the spec's group in the store, as a patient's message opens it.</summary>
    private async Task<string> OpenRecord()
    {
        var appended = await _store.Append(new NewMessage(GroupId, UserId, MessageTypes.Text, "我头疼", [UserId], null,
            new AiRecordChange.Open("http://ai", "node-1", "stand-in", 20, AiModes.Auto)));
        return appended.Value!.OpenedRecord!.RecordId;
    }

    [Fact]
    public async Task Should_hand_a_stop_to_the_records_group_as_the_connections_caller_and_send_nothing_when_it_stops()
    {
        var caller = Caller.FromToken(UserId, isAdmin: false);
        var (session, socket) = await Connected(new SessionSettings(TimeSpan.FromSeconds(10), _metrics, Caller: caller));
        var recordId = await OpenRecord();

        session.Tell(new SessionProtocol.Inbound($$"""{"type":"ai_stop","record_id":"{{recordId}}","client_msg_id":"s1"}"""));

        Assert.Equal(new GroupCommands.StopAiReply(GroupId, recordId, caller), await _groups.ExpectMsgAsync<GroupCommands.StopAiReply>(Patience));
        _groups.Reply(Outcome<AiInteractionResponse>.Ok((await _store.GetRecord(recordId))!));
        // The record's "stopped" state, pushed to every member, is the acknowledgement.
        await socket.ExpectNoFrame(Quiet);

        session.Tell(new SessionProtocol.Inbound($$"""{"type":"ai_stop","record_id":"{{recordId}}","client_msg_id":"s2"}"""));
        await _groups.ExpectMsgAsync<GroupCommands.StopAiReply>(Patience);
        _groups.Reply(Outcome<AiInteractionResponse>.Fail(ErrorCodes.InvalidState, "finished"));
        IsError(ErrorCodes.InvalidState, await socket.NextFrame(), "s2");
    }

    [Fact]
    public async Task Should_stop_as_the_sockets_user_in_header_mode()
    {
        var (session, _) = await Connected();
        var recordId = await OpenRecord();

        session.Tell(new SessionProtocol.Inbound($$"""{"type":"ai_stop","record_id":"{{recordId}}"}"""));

        Assert.Equal(Caller.FromHeader(UserId), (await _groups.ExpectMsgAsync<GroupCommands.StopAiReply>(Patience)).Caller);
    }

    [Theory]
    [InlineData("""{"type":"ai_stop","client_msg_id":"s3"}""", ErrorCodes.InvalidParameter)]
    [InlineData("""{"type":"ai_stop","record_id":"","client_msg_id":"s3"}""", ErrorCodes.InvalidParameter)]
    [InlineData("""{"type":"ai_stop","record_id":7,"client_msg_id":"s3"}""", ErrorCodes.InvalidParameter)]
    [InlineData("""{"type":"ai_stop","record_id":"record_20250101000000_unknown1","client_msg_id":"s3"}""", ErrorCodes.RecordNotFound)]
    public async Task Should_refuse_a_stop_naming_no_record_without_asking_a_group(string text, string code)
    {
        var (session, socket) = await Connected();

        session.Tell(new SessionProtocol.Inbound(text));

        IsError(code, await socket.NextFrame(), "s3");
        await _groups.ExpectNoMsgAsync(Quiet);
    }

    // ---- token expiry ----

    [Fact]
    public async Task Should_send_unauthorized_then_close_1008_and_stop_when_the_token_expires()
    {
        var expiresAt = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1);
        var (session, socket) = await Connected(new SessionSettings(Settings.AskTimeout, _metrics, expiresAt));
        Watch(session);

        IsError(ErrorCodes.Unauthorized, await socket.NextFrame());
        // The scheduler's tick may round a little; well before expiry would be a wrong deadline.
        Assert.True(DateTimeOffset.UtcNow >= expiresAt - TimeSpan.FromMilliseconds(100), "closed before the token expired");
        Assert.Equal(SessionActor.PolicyViolation, (await socket.Closed.WaitAsync(Patience)).Status);
        await ExpectTerminatedAsync(session, Patience);
    }

    /// <summary>
    /// The socket as the host's output behaves: a bounded queue whose first close wins and which
    /// takes no frame after it. The test reads the queue as the client would.
    /// </summary>
    private sealed class SocketStandIn(int capacity, Action? onEnqueue = null) : ISessionOutput
    {
        private readonly Channel<string> _frames = Channel.CreateBounded<string>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.Wait });
        private readonly TaskCompletionSource<(int Status, string Reason)> _closed =
            new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<(int Status, string Reason)> Closed => _closed.Task;

        public bool TryEnqueue(string frame)
        {
            onEnqueue?.Invoke();
            return _frames.Writer.TryWrite(frame);
        }

        public void Close(int closeStatus, string reason)
        {
            _closed.TrySetResult((closeStatus, reason));
            _frames.Writer.TryComplete();
        }

        public async Task<string> NextText()
        {
            using var timeout = new CancellationTokenSource(Patience);
            try
            {
                return await _frames.Reader.ReadAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new Xunit.Sdk.XunitException($"no frame within {Patience}");
            }
            catch (ChannelClosedException)
            {
                throw new Xunit.Sdk.XunitException($"the socket was closed ({_closed.Task.Result}) with no frame left");
            }
        }

        public async Task<JsonNode> NextFrame() => JsonNode.Parse(await NextText())!;

        public async Task ExpectNoFrame(TimeSpan within)
        {
            if (_frames.Reader.TryPeek(out var early))
                throw new Xunit.Sdk.XunitException($"unexpected frame {early}");
            using var timeout = new CancellationTokenSource(within);
            try
            {
                if (await _frames.Reader.WaitToReadAsync(timeout.Token) && _frames.Reader.TryPeek(out var frame))
                    throw new Xunit.Sdk.XunitException($"unexpected frame {frame}");
            }
            catch (OperationCanceledException)
            {
            }
        }
    }
}
