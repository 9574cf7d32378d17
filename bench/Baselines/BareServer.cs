using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Im.Actors.Events;
using Im.Actors.Storage;
using Im.Contracts;
using StackExchange.Redis;

namespace ImAkka.Baselines;

/// <summary>
/// ImAkka's message path without actors, the baseline its overhead is measured against. A send does
/// what ImAkka's does per message — the body read and checked by the same <see cref="RequestReader"/>,
/// the sender checked against the group's members held in memory (as a GroupActor holds them), and
/// one <see cref="ImStore.AppendMessage"/>: the same Lua script (HINCRBY seq, HSET message, ZADD
/// timeline, PUBLISH) with the message's lookup by id beside it, ids from a block, the same keys and
/// event payload — but concurrently, straight from the endpoint.
/// The broadcaster reads each group's events channel in order (subscribed when the group is set up),
/// reads each <see cref="GroupEvent"/> and writes its frame, made once, to each local socket of each
/// recipient through a bounded queue and one pump per socket, as ImAkka's sessions do; no
/// SessionsActor, no SessionActor.
/// </summary>
public static class BareServer
{
    private const int QueueCapacity = 1024;

    public static async Task<WebApplication> Build(WebApplicationBuilder builder)
    {
        var connection = builder.Configuration["redis"] ?? throw new ArgumentException("--redis host:port is required");
        var prefix = builder.Configuration["prefix"] ?? "bare:";
        var options = ConfigurationOptions.Parse(connection);
        options.AbortOnConnectFail = false;
        var redis = await ConnectionMultiplexer.ConnectAsync(options);
        var store = new ImStore(redis, StoreKeys.For(redis, prefix), TimeProvider.System);
        var state = new State(store, redis);
        builder.Services.AddSingleton(state);

        var app = builder.Build();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
        app.MapPost("/setup/group", state.SetUpGroup);
        app.MapPost("/send", state.Send);
        app.Map("/ws/{user_id}", state.Connect);
        app.MapGet("/stats", () => Results.Json(new { events = state.Events, pushes = state.Pushes }));
        return app;
    }

    private sealed class State(ImStore store, IConnectionMultiplexer redis)
    {
        private readonly ConcurrentDictionary<string, Lazy<Task<Group?>>> _groups = new(StringComparer.Ordinal);
        // One block for every group: the bare server has no writer per group to hold one.
        private readonly IdBlock _ids = store.NewMessageIds();
        private readonly ConcurrentDictionary<string, ConcurrentDictionary<Session, byte>> _sessions = new(StringComparer.Ordinal);
        private long _events;
        private long _pushes;

        public long Events => Interlocked.Read(ref _events);
        public long Pushes => Interlocked.Read(ref _pushes);

        private sealed record Group(HashSet<string> Members, IReadOnlyCollection<string> Recipients);

        /// <summary>The bench's set-up: users and a group with them as members, in the store like ImAkka's.</summary>
        public async Task<IResult> SetUpGroup(HttpRequest request)
        {
            using var body = await JsonDocument.ParseAsync(request.Body);
            var roles = body.RootElement.GetProperty("roles").EnumerateArray().Select(r => r.GetString()!).ToList();
            var now = store.Now;
            var users = new List<string>();
            for (var i = 0; i < roles.Count; i++)
            {
                var userId = Ids.NewUserId(now);
                await store.CreateUser(userId, "bench", UserRoles.Doctor);
                users.Add(userId);
            }
            var groupId = Ids.NewGroupId(now);
            await store.CreateGroup(groupId, "bench", null, users[0]);
            for (var i = 1; i < users.Count; i++) await store.AddMember(groupId, users[i], roles[i]);
            // A ChannelMessageQueue hands messages over one at a time in publish order, as ImAkka's sessions parent reads them.
            var queue = await redis.GetSubscriber().SubscribeAsync(store.Keys.GroupEvents(groupId));
            queue.OnMessage(message => Deliver(message.Message!));
            return Results.Json(new { group_id = groupId, members = users });
        }

        public async Task<IResult> Send(HttpRequest request, CancellationToken cancellation)
        {
            var sender = request.Headers["X-User-Id"].ToString();
            if (sender.Length == 0) return Error(401, ErrorCodes.Unauthorized, "X-User-Id is required");
            JsonDocument body;
            try
            {
                body = await JsonDocument.ParseAsync(request.Body, ImJson.DocumentOptions, cancellation);
            }
            catch (JsonException)
            {
                return Error(400, ErrorCodes.InvalidParameter, "the body is not valid JSON");
            }
            using (body)
            {
                var parsed = RequestReader.SendMessage(body.RootElement);
                if (parsed.Error is { } invalid) return Error(400, invalid.Code, invalid.Message);
                var send = parsed.Value!;
                var group = await _groups.GetOrAdd(send.GroupId, id => new Lazy<Task<Group?>>(() => Load(id))).Value;
                if (group is null) return Error(404, ErrorCodes.GroupNotFound, "group not found");
                if (!group.Members.Contains(sender)) return Error(404, ErrorCodes.NotMember, "not a member");
                var appended = await store.AppendMessage(new NewMessage(send.GroupId, sender, send.MsgType, send.Content,
                    group.Recipients, send.ClientMsgId, AiRecordChange.None) { Id = await _ids.Take() });
                return appended.Error is { } conflict
                    ? Error(409, conflict.Code, conflict.Message)
                    : Results.Json(appended.Value!.Message, ImJson.Options);
            }
        }

        private async Task<Group?> Load(string groupId) =>
            await store.LoadGroup(groupId) is { } snapshot
                ? new Group([.. snapshot.MemberRoles.Keys], snapshot.MemberRoles.Keys.ToList())
                : null;

        private static IResult Error(int status, string code, string message) =>
            Results.Json(new { error = new { code, message, details = new { } } }, ImJson.Options, statusCode: status);

        public async Task Connect(string user_id, HttpContext context)
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = 400;
                return;
            }
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            // ImAkka's session checks its user once when it opens; so does this one.
            if (!await store.UserExists(user_id))
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.PolicyViolation, "user not found", CancellationToken.None);
                return;
            }
            var session = new Session();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            var pump = session.Pump(socket, stop.Token);
            _sessions.GetOrAdd(user_id, _ => new ConcurrentDictionary<Session, byte>()).TryAdd(session, 0);
            session.TryEnqueue(ImJson.Serialize(new ConnectedFrame(user_id)));
            try
            {
                var buffer = new byte[4096];
                while (socket.State == WebSocketState.Open)
                {
                    var result = await socket.ReceiveAsync(buffer, stop.Token);
                    if (result.MessageType == WebSocketMessageType.Close) break;
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
            }
            finally
            {
                if (_sessions.TryGetValue(user_id, out var mine)) mine.TryRemove(session, out _);
                session.Complete();
                await stop.CancelAsync();
                try
                {
                    await pump;
                }
                catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
                {
                }
            }
        }

        public void Deliver(string payload)
        {
            Interlocked.Increment(ref _events);
            GroupEvent? pushed;
            try
            {
                pushed = EventEnvelope.ReadGroupEvent(payload);
            }
            catch (JsonException)
            {
                return;
            }
            if (pushed is null) return;
            string? plain = null;
            foreach (var recipient in pushed.Recipients)
            {
                if (!_sessions.TryGetValue(recipient, out var sessions) || sessions.IsEmpty) continue;
                var frame = pushed.FrameFor(recipient) is { } own ? ImJson.Serialize(own) : plain ??= ImJson.Serialize(pushed.Frame());
                foreach (var session in sessions.Keys)
                {
                    if (session.TryEnqueue(frame)) Interlocked.Increment(ref _pushes);
                }
            }
        }
    }

    /// <summary>One socket's outbound side: a bounded queue and one pump, as ImAkka's WebSocketSessionOutput.</summary>
    private sealed class Session
    {
        private readonly Channel<string> _frames = Channel.CreateBounded<string>(
            new BoundedChannelOptions(QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

        public bool TryEnqueue(string frame) => _frames.Writer.TryWrite(frame);

        public void Complete() => _frames.Writer.TryComplete();

        public async Task Pump(WebSocket socket, CancellationToken cancellation)
        {
            await foreach (var frame in _frames.Reader.ReadAllAsync(cancellation))
            {
                await socket.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, true, cancellation);
            }
        }
    }
}
