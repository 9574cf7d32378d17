using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Im.Contracts;
using Im.TestSupport;
using Xunit.Abstractions;

namespace Im.End2End.Tests;

/// <summary>
/// <c>Auth__Mode=Jwt</c>, DESIGN.md's authorization table as a matrix: every endpoint and
/// <c>/ws/{id}</c> for every kind of caller, each cell the documented status, and no cell that
/// reads or writes a group its caller does not belong to.
/// </summary>
[Collection(EndToEnd.Name)]
public sealed class AuthorizationSpecs(ITestOutputHelper output)
{
    private const string Key = "authorization-matrix-key-of-at-least-32-bytes";
    private const string Issuer = "https://issuer.imakka.test";
    private const string Audience = "imakka";
    private const string AdminSubject = "ops-backend";

    private static Dictionary<string, string> JwtHost() => new()
    {
        ["Auth__Mode"] = "Jwt",
        ["Auth__JwtKey"] = Key,
        ["Auth__Issuer"] = Issuer,
        ["Auth__Audience"] = Audience,
    };

    private static string Token(string subject, bool admin = false, DateTimeOffset? expires = null) =>
        Jwt.Mint(Key, subject, admin, expires, Issuer, Audience);

    /// <summary>The row's callers, in the order of the expected statuses below.</summary>
    private enum Who { Patient, Doctor, Outsider, Admin, NoToken, Expired, WrongSignature, AlgNone, UnknownSubject }

    private const int Unauthorized = 401;

    [Fact]
    public async Task Should_answer_every_endpoint_for_every_kind_of_caller_as_documented()
    {
        await using var host = await HostProcess.Start(JwtHost());
        var adminToken = await MintWithScript("--sub", AdminSubject, "--admin");
        var world = await World.Build(host, adminToken);
        var tokens = new Dictionary<Who, string?>
        {
            [Who.Patient] = Token(world.Patient),
            [Who.Doctor] = Token(world.Doctor),
            [Who.Outsider] = Token(world.Outsider),
            [Who.Admin] = adminToken,
            [Who.NoToken] = null,
            [Who.Expired] = Token(world.Patient, expires: DateTimeOffset.UtcNow.AddMinutes(-5)),
            [Who.WrongSignature] = Jwt.Mint("some-other-key-that-is-32-bytes-long!!", world.Patient, false, null, Issuer, Audience),
            [Who.AlgNone] = Jwt.Mint("", world.Patient, issuer: Issuer, audience: Audience, algorithm: "none"),
            [Who.UnknownSubject] = Token("user_20250101000000_nobody00"),
        };

        // Expected status for patient member, doctor member, member of another group only, admin;
        // every other caller gets 401. A 404 cell also names its code.
        var rows = new List<Row>
        {
            new("create a user", "POST", _ => "/api/user/create", _ => Json("""{"username":"新用户","user_role":"PATIENT"}"""), [403, 403, 403, 200]),
            new("read a user", "GET", _ => $"/api/user/{world.Patient}", null, [200, 200, 403, 200]),
            new("change a user's system role", "PUT", _ => $"/api/user/{world.RoleTarget}/role", _ => Json("""{"user_role":"DOCTOR"}"""), [403, 403, 403, 200]),
            new("create a group", "POST", _ => "/api/group/create",
                who => Json($$"""{"group_name":"新群","created_by":"{{(who == Who.Admin ? world.Doctor : world.IdOf(who))}}"}"""), [403, 200, 200, 200]),
            new("read a group", "GET", _ => $"/api/group/{world.Group}", null, [200, 200, 403, 200]),
            new("read its members", "GET", _ => $"/api/group/{world.Group}/members", null, [200, 200, 403, 200]),
            new("add a member", "POST", _ => $"/api/group/{world.Group}/members",
                who => Json($$"""{"user_id":"{{world.ToAdd[who]}}","user_role":"PATIENT"}"""), [403, 200, 403, 200]),
            new("remove a member", "DELETE", who => $"/api/group/{world.Group}/members/{world.ToRemove[who]}", null, [403, 200, 403, 200]),
            // Setting it to auto changes nothing the later rows depend on.
            new("set its AI mode", "PUT", _ => $"/api/group/{world.Group}/ai", _ => Json("""{"mode":"auto"}"""), [403, 200, 403, 200]),
            new("read a draft", "GET", _ => $"/api/ai/interactions/{world.DraftToRead}/draft", null, [403, 200, 403, 200]),
            new("approve a draft", "POST", who => $"/api/ai/interactions/{world.ToApprove[who]}/approve", null, [403, 200, 403, 200]),
            new("reject a draft", "POST", who => $"/api/ai/interactions/{world.ToReject[who]}/reject", null, [403, 200, 403, 200]),
            new("send to the group", "POST", _ => "/api/message/send", _ => Json($$"""{"group_id":"{{world.Group}}","content":"矩阵"}"""),
                [200, 200, 404, 404], NotFoundCodes: [null, null, ErrorCodes.NotMember, ErrorCodes.UserNotFound]),
            new("list its messages", "GET", _ => $"/api/message/list?group_id={world.Group}", null, [200, 200, 403, 200]),
            new("read one message", "GET", _ => $"/api/message/{world.Message}", null, [200, 200, 403, 200]),
            new("list its AI records", "GET", _ => $"/api/ai/interactions?group_id={world.Group}", null, [200, 200, 403, 200]),
            new("upload an image to it", "POST", _ => $"/api/media?group_id={world.Group}", _ => Image(),
                [200, 200, 404, 404], NotFoundCodes: [null, null, ErrorCodes.NotMember, ErrorCodes.UserNotFound]),
            new("read one of its images", "GET", _ => $"/api/media/{world.Media}", null, [200, 200, 403, 200]),
        };

        var failures = new List<string>();
        var table = new StringBuilder($"{"action",-30}" + string.Concat(Enum.GetNames<Who>().Select(n => $"{n,15}")) + "\n");
        foreach (var row in rows)
        {
            table.Append($"{row.Name,-30}");
            foreach (var who in Enum.GetValues<Who>())
            {
                var expected = (int)who < 4 ? row.Expected[(int)who] : Unauthorized;
                var (status, body) = await Send(host, row.Method, row.Path(who), row.Body?.Invoke(who), tokens[who]);
                table.Append($"{status,15}");
                var expectedCode = expected switch
                {
                    Unauthorized => ErrorCodes.Unauthorized,
                    403 => ErrorCodes.Forbidden,
                    404 => row.NotFoundCodes?[(int)who],
                    _ => null,
                };
                var code = (string?)body?["error"]?["code"];
                if (status != expected || (expectedCode is not null && code != expectedCode))
                    failures.Add($"{row.Name} as {who}: expected {expected} {expectedCode}, got {status} {body?.ToJsonString()}");
            }
            table.Append('\n');
        }

        table.Append($"{"open /ws/{patient}",-30}");
        foreach (var who in Enum.GetValues<Who>())
        {
            var expected = who switch
            {
                Who.Patient => 101,
                Who.Doctor or Who.Outsider or Who.Admin => 403,
                _ => Unauthorized,
            };
            var status = await OpenSocket(host, world.Patient, tokens[who]);
            table.Append($"{status,15}");
            if (status != expected) failures.Add($"open /ws/{{patient}} as {who}: expected {expected}, got {status}");
        }
        output.WriteLine(table.ToString());

        // Nothing the outsider or an unauthenticated caller tried reached the group.
        var members = (await Call(host, "GET", $"/api/group/{world.Group}/members", null, adminToken)).Body!["members"]!.AsArray()
            .Select(m => (string)m!["user_id"]!).ToHashSet();
        foreach (var who in Enum.GetValues<Who>().Where(w => w is not (Who.Doctor or Who.Admin)))
        {
            if (members.Contains(world.ToAdd[who])) failures.Add($"{who}'s add reached the group");
            if (!members.Contains(world.ToRemove[who])) failures.Add($"{who}'s removal reached the group");
        }
        var history = (await Call(host, "GET", $"/api/message/list?group_id={world.Group}&page_size=100", null, adminToken)).Body!;
        // The setup's message and the two members' sends (the patient's also gets an AI reply).
        Assert.Equal(3, history["messages"]!.AsArray().Count(m => (string?)m!["msg_type"] != MessageTypes.AiReply));
        Assert.True(failures.Count == 0, string.Join('\n', failures) + "\n" + table);
    }

    [Fact]
    public async Task Should_check_issuer_audience_and_a_clock_skew_of_at_most_30_seconds()
    {
        await using var host = await HostProcess.Start(JwtHost());
        var world = await World.Build(host, Token(AdminSubject, admin: true));
        var groupPath = $"/api/group/{world.Group}";

        async Task<int> Read(string token) => (await Call(host, "GET", groupPath, null, token)).Status;

        Assert.Equal(200, await Read(Token(world.Patient)));
        Assert.Equal(200, await Read(Token(world.Patient, expires: DateTimeOffset.UtcNow.AddSeconds(-10))));
        Assert.Equal(Unauthorized, await Read(Token(world.Patient, expires: DateTimeOffset.UtcNow.AddSeconds(-60))));
        Assert.Equal(Unauthorized, await Read(Jwt.Mint(Key, world.Patient, issuer: "https://someone-else.test", audience: Audience)));
        Assert.Equal(Unauthorized, await Read(Jwt.Mint(Key, world.Patient, issuer: Issuer, audience: "another-service")));
        Assert.Equal(Unauthorized, await Read(Jwt.Mint(Key, world.Patient)));
        var (expired, body) = await Call(host, "GET", groupPath, null, Token(world.Patient, expires: DateTimeOffset.UtcNow.AddMinutes(-5)));
        Assert.Equal(Unauthorized, expired);
        Assert.Contains("expired", (string?)body!["error"]!["message"], StringComparison.Ordinal);

        // Open without a token: health, the info a client needs before it logs in.
        var (infoStatus, info) = await Call(host, "GET", "/api/info", null, null);
        Assert.Equal(200, infoStatus);
        Assert.Equal("jwt", (string?)info!["auth_mode"]);
        Assert.Equal(200, (await Call(host, "GET", "/health/live", null, null)).Status);
    }

    [Fact]
    public async Task Should_decide_who_creates_a_group()
    {
        await using var host = await HostProcess.Start(JwtHost());
        var admin = Token(AdminSubject, admin: true);
        var world = await World.Build(host, admin);

        var (withoutCreator, error) = await Call(host, "POST", "/api/group/create", """{"group_name":"g"}""", admin);
        Assert.Equal(400, withoutCreator);
        Assert.Equal("created_by", (string?)error!["error"]!["details"]!["field"]);
        var (unknownCreator, unknown) = await Call(host, "POST", "/api/group/create",
            """{"group_name":"g","created_by":"user_20250101000000_nobody00"}""", admin);
        Assert.Equal((404, ErrorCodes.UserNotFound), (unknownCreator, (string?)unknown!["error"]!["code"]));
        var (onBehalf, _) = await Call(host, "POST", "/api/group/create", $$"""{"group_name":"g","created_by":"{{world.Outsider}}"}""",
            Token(world.Doctor));
        Assert.Equal(403, onBehalf);
        var (own, created) = await Call(host, "POST", "/api/group/create", """{"group_name":"g"}""", Token(world.Doctor));
        Assert.Equal(200, own);
        Assert.Equal(world.Doctor, (string?)created!["created_by"]);
    }

    [Fact]
    public async Task Should_close_a_socket_with_1008_when_its_token_expires()
    {
        await using var host = await HostProcess.Start(JwtHost());
        var world = await World.Build(host, Token(AdminSubject, admin: true));
        // exp is whole seconds: what the token says is when it expires.
        var expires = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddSeconds(3).ToUnixTimeSeconds());

        await using var socket = await WsClient.Connect(new Uri(host.BaseAddress, $"?access_token={Token(world.Patient, expires: expires)}"),
            world.Patient);

        var error = await socket.NextOfType(FrameTypes.Error, TimeSpan.FromSeconds(15));
        Assert.Equal(ErrorCodes.Unauthorized, (string?)error["code"]);
        await socket.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, socket.CloseStatus);
        Assert.True(DateTimeOffset.UtcNow >= expires.AddMilliseconds(-100), $"closed before the token expired at {expires:O}");
    }

    /// <summary>A consultation and the people around it, made by the admin.</summary>
    /// <param name="DraftToRead">A draft waiting for review in another group of the same doctor and patient.</param>
    /// <param name="ToApprove">A waiting draft per caller, so that each approval finds one still pending.</param>
    private sealed record World(string Doctor, string Patient, string Outsider, string RoleTarget, string Group, string OtherGroup,
        string Message, string Media, Dictionary<Who, string> ToAdd, Dictionary<Who, string> ToRemove, string DraftToRead,
        Dictionary<Who, string> ToApprove, Dictionary<Who, string> ToReject)
    {
        public string IdOf(Who who) => who switch
        {
            Who.Patient => Patient,
            Who.Doctor => Doctor,
            Who.Outsider => Outsider,
            _ => "user_20250101000000_nobody00",
        };

        public static async Task<World> Build(HostProcess host, string adminToken)
        {
            var admin = host.Api.WithToken(adminToken);
            var doctor = (await admin.CreateUser(UserRoles.Doctor, "王医生")).UserId;
            var patient = (await admin.CreateUser(UserRoles.Patient, "张三")).UserId;
            // A doctor too, and a DOCTOR in the group it belongs to: neither role opens this group.
            var outsider = (await admin.CreateUser(UserRoles.Doctor, "李医生")).UserId;
            var roleTarget = (await admin.CreateUser(UserRoles.Patient)).UserId;
            var group = await CreateGroup(admin, doctor);
            var otherGroup = await CreateGroup(admin, outsider);
            await admin.AddMember(group, patient, UserRoles.Patient);
            var message = (string)(await admin.WithToken(Token(doctor)).Post("/api/message/send", new { group_id = group, content = "你好" })).Body!["message_id"]!;
            var (uploaded, media) = await Send(host, "POST", $"/api/media?group_id={group}", Image(), Token(doctor));
            Assert.True(uploaded == 200, media?.ToJsonString());
            var toAdd = new Dictionary<Who, string>();
            var toRemove = new Dictionary<Who, string>();
            foreach (var who in Enum.GetValues<Who>())
            {
                toAdd[who] = (await admin.CreateUser(UserRoles.Patient)).UserId;
                toRemove[who] = (await admin.CreateUser(UserRoles.Patient)).UserId;
                await admin.AddMember(group, toRemove[who], UserRoles.Patient);
            }
            var drafts = await Drafts(admin, doctor, patient, 1 + 2 * Enum.GetValues<Who>().Length);
            var whos = Enum.GetValues<Who>();
            return new World(doctor, patient, outsider, roleTarget, group, otherGroup, message, (string)media!["media_id"]!, toAdd, toRemove,
                drafts[0], whos.Select((who, i) => (who, drafts[1 + i])).ToDictionary(),
                whos.Select((who, i) => (who, drafts[1 + whos.Length + i])).ToDictionary());
        }

        /// <summary>A group of the doctor's in review mode, and that many of the patient's questions whose drafts wait.</summary>
        private static async Task<List<string>> Drafts(ImApi admin, string doctor, string patient, int count)
        {
            var group = await CreateGroup(admin, doctor);
            await admin.AddMember(group, patient, UserRoles.Patient);
            var (status, body) = await admin.WithToken(Token(doctor)).SetGroupAi(group, """{"mode":"review"}""", null);
            Assert.True(status == HttpStatusCode.OK, body?.ToJsonString());
            var asPatient = admin.WithToken(Token(patient));
            for (var i = 0; i < count; i++) await asPatient.Post("/api/message/send", new { group_id = group, content = $"问题 {i}" });
            List<string> drafts = [];
            await Eventually.True(async () =>
            {
                var records = (await admin.Get($"/api/ai/interactions?group_id={group}&review_state=pending&page_size=100")).Body!["records"]!.AsArray();
                drafts = records.Select(r => (string)r!["record_id"]!).ToList();
                return drafts.Count == count;
            }, TimeSpan.FromSeconds(30), "every draft to wait for review");
            return drafts;
        }

        private static async Task<string> CreateGroup(ImApi admin, string creator)
        {
            var (status, body) = await admin.Post("/api/group/create", new { group_name = "医疗咨询群", created_by = creator });
            Assert.True(status == HttpStatusCode.OK, body?.ToJsonString());
            return (string)body!["group_id"]!;
        }
    }

    private sealed record Row(string Name, string Method, Func<Who, string> Path, Func<Who, HttpContent>? Body, int[] Expected,
        string?[]? NotFoundCodes = null);

    private static HttpContent Json(string json) => new StringContent(json, Encoding.UTF8, "application/json");

    private static HttpContent Image()
    {
        var image = new ByteArrayContent(TestImages.Png());
        image.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        return image;
    }

    private static Task<(int Status, JsonNode? Body)> Call(HostProcess host, string method, string path, string? json, string? token) =>
        Send(host, method, path, json is null ? null : Json(json), token);

    private static async Task<(int Status, JsonNode? Body)> Send(HostProcess host, string method, string path, HttpContent? body, string? token)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Content = body;
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await host.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var json = response.Content.Headers.ContentType?.MediaType == "application/json";
        return ((int)response.StatusCode, json && text.Length > 0 ? JsonNode.Parse(text) : null);
    }

    /// <summary>101 when the socket opened and said connected; otherwise the handshake's HTTP status.</summary>
    private static async Task<int> OpenSocket(HostProcess host, string userId, string? token)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        var query = token is null ? "" : $"?access_token={token}";
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{host.Port}/ws/{userId}{query}"), timeout.Token);
        }
        catch (WebSocketException)
        {
            return (int)socket.HttpStatusCode;
        }
        var buffer = new byte[4096];
        var first = await socket.ReceiveAsync(buffer, timeout.Token);
        var frame = JsonNode.Parse(Encoding.UTF8.GetString(buffer, 0, first.Count))!;
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token);
        return (string?)frame["type"] == FrameTypes.Connected ? 101 : -1;
    }

    /// <summary>Runs scripts/token.sh as an operator would, with the host's key and issuer/audience in the environment.</summary>
    private static async Task<string> MintWithScript(params string[] arguments)
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root!.FullName, "ImAkka.sln"))) root = root.Parent;
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(root.FullName, "scripts", "token.sh"));
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        info.Environment["Auth__JwtKey"] = Key;
        info.Environment["Auth__Issuer"] = Issuer;
        info.Environment["Auth__Audience"] = Audience;
        using var process = Process.Start(info)!;
        var token = await process.StandardOutput.ReadToEndAsync();
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"token.sh failed: {errors}");
        return token.Trim();
    }
}
