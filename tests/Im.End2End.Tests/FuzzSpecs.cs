using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.IO.Hashing;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Im.Contracts;
using Im.TestSupport;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Pbm;
using SixLabors.ImageSharp.Formats.Tga;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.PixelFormats;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Im.End2End.Tests;

/// <summary>
/// Generated bad inputs over REST and WebSocket against one host on a real redis-server: every one
/// gets its documented 4xx, error frame or close code; no 5xx, no second <c>connected</c> frame (a
/// restarted session), no error-level log line, the host stays up and the keyspace is exactly as
/// before. Every input is built from a valid request plus at least one fault, so a 2xx is a failure.
/// Images too: uploads broken at each of the service's checks in turn, up to bytes only the decoder
/// can refuse (sent by members, so they reach it), reads of ids that name no image, and IMAGE sends
/// whose content is not an image of the group. The generator is seeded: <c>IM_FUZZ_SEED=n</c> replays a run (the seed is printed, and is in
/// every failure message). The inputs depend on the seed alone, apart from the ids the setup gets
/// from the server; the order in which concurrent requests arrive does not change them.
/// </summary>
[Collection(EndToEnd.Name)]
public sealed class FuzzSpecs(FuzzSpecs.FuzzHost fuzz, ITestOutputHelper output) : IClassFixture<FuzzSpecs.FuzzHost>
{
    private const int RestInputs = 2400;
    private const int RestConcurrency = 16;
    private const int MaxFrameBytes = 64 * 1024;

    private static readonly int Seed =
        int.TryParse(Environment.GetEnvironmentVariable("IM_FUZZ_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed)
            ? seed
            : Random.Shared.Next();

    private static string Replay => $"[fuzz seed {Seed}; replay with IM_FUZZ_SEED={Seed}]";

    [Fact]
    public async Task Should_refuse_every_generated_bad_rest_request_with_its_documented_error_and_store_nothing()
    {
        var clock = Stopwatch.StartNew();
        output.WriteLine($"{Replay} REST");
        var data = await fuzz.NewConsultation();
        var cases = new RestFuzz(new Gen(new Random(Seed)), data).Generate(RestInputs);
        // Members' sockets stay open through the flood: a refused send must not be pushed either.
        await using var doctorSocket = await WsClient.Connect(fuzz.Host.BaseAddress, data.Doctor);
        await using var patientSocket = await WsClient.Connect(fuzz.Host.BaseAddress, data.Patient);
        var before = await fuzz.Snapshot();

        var failures = new ConcurrentQueue<string>();
        var answers = new ConcurrentQueue<string>();
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = RestConcurrency }, async (input, _) =>
        {
            var (problem, answer) = await Check(input);
            answers.Enqueue(answer);
            if (problem is not null) failures.Enqueue(problem);
        });
        var sent = clock.Elapsed;

        foreach (var (name, socket) in new[] { ("doctor", doctorSocket), ("patient", patientSocket) })
        {
            if (await QuietSocketProblem(socket) is { } problem) failures.Enqueue($"{name}'s socket during the REST fuzz: {problem}");
        }
        var problems = failures.ToList();
        problems.AddRange(StoreDifferences(before, await fuzz.Snapshot()));
        problems.AddRange(await fuzz.HostProblems());

        output.WriteLine($"inputs by family: {Tally(cases.Select(c => c.Family))}");
        output.WriteLine($"answers: {Tally(answers)}");
        output.WriteLine($"store: {before.Count} keys compared");
        output.WriteLine($"{cases.Count} bad REST requests in {sent.TotalSeconds:F1} s, checks done at {clock.Elapsed.TotalSeconds:F1} s; {problems.Count} problems");
        Assert.True(problems.Count == 0, Summary($"{problems.Count} problems in {cases.Count} bad REST requests", problems));
    }

    [Fact]
    public async Task Should_answer_every_generated_bad_websocket_frame_with_one_error_frame_or_its_close_code_and_store_nothing()
    {
        var clock = Stopwatch.StartNew();
        output.WriteLine($"{Replay} WebSocket");
        var lanes = new WsFuzz(new Gen(new Random(Seed)), await fuzz.NewConsultation()).Plan();
        var before = await fuzz.Snapshot();

        var answers = new ConcurrentQueue<string>();
        var results = await Task.WhenAll(lanes.Select(lane => RunLane(lane, answers)));
        var sent = clock.Elapsed;
        var problems = results.SelectMany(r => r).ToList();
        problems.AddRange(StoreDifferences(before, await fuzz.Snapshot()));
        problems.AddRange(await fuzz.HostProblems());

        var inputs = lanes.SelectMany(l => l.Steps).SelectMany(s => s.Frames).ToList();
        output.WriteLine($"inputs by family: {Tally(inputs.Select(f => f.Family))}");
        output.WriteLine($"answers: {Tally(answers)}");
        output.WriteLine($"store: {before.Count} keys compared");
        output.WriteLine($"{inputs.Count} bad WebSocket inputs ({inputs.Count(f => f.Close is not null)} closing) on {lanes.Count} users " +
                         $"in {sent.TotalSeconds:F1} s, checks done at {clock.Elapsed.TotalSeconds:F1} s; {problems.Count} problems");
        Assert.True(problems.Count == 0, Summary($"{problems.Count} problems in {inputs.Count} bad WebSocket inputs", problems));
    }

    private static string Tally(IEnumerable<string> items) =>
        string.Join(", ", items.GroupBy(i => i).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key} ×{g.Count()}"));

    private static string Summary(string what, List<string> problems) =>
        $"{Replay} {what}:\n" + string.Join('\n', problems.Take(30)) + (problems.Count > 30 ? $"\n… and {problems.Count - 30} more" : "");

    // ---------------------------------------------------------------- REST

    /// <returns>What is wrong with the answer, or null; and the answer in short, for the tally.</returns>
    private async Task<(string? Problem, string Answer)> Check(RestCase input)
    {
        using var request = new HttpRequestMessage(input.Method, new Uri(input.Path, UriKind.Relative));
        foreach (var (name, value) in input.Headers) request.Headers.TryAddWithoutValidation(name, value);
        if (input.Body is { } body)
        {
            request.Content = input.Chunked ? new ChunkedContent(body) : new ByteArrayContent(body);
            if (input.ContentType is { } contentType) request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }
        HttpResponseMessage response;
        try
        {
            response = await fuzz.Host.Http.SendAsync(request);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return ($"{input}\n    → no answer: {ex.GetType().Name} {ex.Message}", "no answer");
        }
        using (response)
        {
            var status = (int)response.StatusCode;
            var text = await response.Content.ReadAsStringAsync();
            var answer = $"{input}\n    → {status} {Clip(text, 300)}";
            var error = ErrorOf(text);
            var code = (string?)error?["code"];
            var brief = $"{status} {code ?? (text.Length == 0 ? "(no body)" : "(not an error body)")}";
            if (status is < 400 or >= 500 || !input.Statuses.Contains(status))
                return ($"{answer}\n    expected {string.Join(" or ", input.Statuses)}", brief);
            if (text.Length == 0 && input.MayHaveNoBody) return (null, brief);
            if (string.IsNullOrEmpty(code) || error?["message"] is not JsonValue || error["details"] is not JsonObject)
                return ($"{answer}\n    expected the body {{\"error\":{{\"code\",\"message\",\"details\":{{}}}}}}", brief);
            return (input.Codes.Contains(code) ? null : $"{answer}\n    expected code {string.Join(" or ", input.Codes)}", brief);
        }
    }

    /// <summary>The <c>error</c> object of an error body; null for anything else, which the caller reports.</summary>
    private static JsonNode? ErrorOf(string text)
    {
        try
        {
            return text.Length == 0 ? null : JsonNode.Parse(text)?["error"];
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>No pushes and no second <c>connected</c>: a ping is answered by the very next frame.</summary>
    private static async Task<string?> QuietSocketProblem(WsClient socket)
    {
        try
        {
            if (socket.TryNext(out var early)) return $"unexpected frame {Clip(early.ToJsonString(), 300)}";
            await socket.SendJson(new { type = FrameTypes.Ping });
            var frame = await socket.Next(TimeSpan.FromSeconds(15));
            return (string?)frame["type"] == FrameTypes.Pong ? null : $"expected pong, got {Clip(frame.ToJsonString(), 300)}";
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException or WebSocketException)
        {
            return $"no pong: {ex.Message}";
        }
    }

    /// <summary>A body with no Content-Length, so the server meets it only as it reads.</summary>
    private sealed class ChunkedContent(byte[] body) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(body).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    /// <param name="Statuses">Every status this input may get: one, except where two faults meet in one request.</param>
    /// <param name="Codes">The error codes it may carry: one, except where two faults meet in one request.</param>
    /// <param name="MayHaveNoBody">
    /// HEAD answers carry no body by HTTP's rules. And a known gap: Kestrel refuses a request target
    /// with a NUL (<c>%00</c>) while parsing the request line, before any middleware runs, so that 400
    /// has no error body; Kestrel's own protocol errors cannot be given one (aspnet/KestrelHttpServer#2947).
    /// </param>
    private sealed record RestCase(
        string Family, HttpMethod Method, string Path, (string Name, string Value)[] Headers, byte[]? Body, string? ContentType,
        bool Chunked, int[] Statuses, string[] Codes, bool MayHaveNoBody = false)
    {
        public int Index { get; init; }

        public override string ToString()
        {
            var headers = string.Concat(Headers.Select(h => $" [{h.Name}: {Clip(h.Value, 80)}]"));
            var body = Body is null ? "" : $" {(ContentType is null ? "no Content-Type" : ContentType)}{(Chunked ? " chunked" : "")} body {Preview(Body)}";
            return $"#{Index} [{Family}] {Method} {Clip(Path, 200)}{headers}{body}";
        }
    }

    /// <summary>The REST inputs: each family starts from a valid request and breaks it.</summary>
    private sealed class RestFuzz(Gen g, FuzzData d)
    {
        private const int LargeUploads = 6;
        private static readonly HttpMethod Patch = HttpMethod.Patch;
        private readonly MediaFuzz _media = new(g, d);
        private readonly ImageSends _images = new(g, d);
        private int _fresh;

        public List<RestCase> Generate(int count)
        {
            // Weighted: body fields have the most ways to be wrong, so they get the most tries.
            (string Family, int Weight, Func<RestCase> Make)[] families =
            [
                ("body field", 30, FieldFault),
                ("two body faults", 6, TwoFaults),
                ("malformed JSON", 8, MalformedJson),
                ("body not an object", 3, NotAnObject),
                ("duplicate property", 4, DuplicateProperty),
                ("invalid UTF-8 body", 5, InvalidUtf8Body),
                ("body over 64 KiB", 2, TooLarge),
                ("Content-Type", 4, WrongContentType),
                ("path id", 8, PathId),
                ("NUL in path (known gap: no error body)", 1, NulInPath),
                ("list query", 10, ListQuery),
                ("unknown route", 3, UnknownRoute),
                ("wrong method", 4, WrongMethod),
                ("caller", 6, CallerFault),
                ("Idempotency-Key", 4, IdempotencyFault),
                ("member rules", 3, MemberRules),
                ("socket path over HTTP", 2, SocketOverHttp),
                ("upload: caller", 3, () => _media.Faulty(MediaFuzz.Check.Caller)),
                ("upload: group_id", 4, () => _media.Faulty(MediaFuzz.Check.GroupId)),
                ("upload: Content-Type", 5, () => _media.Faulty(MediaFuzz.Check.ContentType)),
                ("upload: multipart", 12, () => _media.Faulty(MediaFuzz.Check.Multipart)),
                ("upload: not an image", 8, () => _media.Faulty(MediaFuzz.Check.NotAnImage)),
                ("upload: unknown group, non-member, unknown user", 8, () => _media.Faulty(MediaFuzz.Check.Access)),
                ("upload: undecodable, by a member", 16, () => _media.Faulty(MediaFuzz.Check.Decode)),
                ("upload: 2-3 faults, the first check answers", 8, _media.FaultyInOrder),
                ("media read", 6, _media.Read),
                ("media route", 2, _media.Route),
                ("IMAGE send", 14, ImageSend),
            ];
            var cases = families.Select(f => f.Make() with { Family = f.Family }).ToList();
            // Each of these moves 5 MiB: a fixed handful, not a share of the draw.
            cases.AddRange(Enumerable.Range(0, LargeUploads).Select(i => _media.Large(i) with { Family = "upload: at and over 5 MiB" }));
            var total = families.Sum(f => f.Weight);
            while (cases.Count < count)
            {
                var roll = g.Next(total);
                var family = families.First(f => (roll -= f.Weight) < 0);
                cases.Add(family.Make() with { Family = family.Family });
            }
            return cases.Select((c, i) => c with { Index = i }).ToList();
        }

        private string Fresh(string prefix) => $"{prefix}{++_fresh}";

        // ----- the valid requests every body fault starts from

        private sealed record Target(string Name, HttpMethod Method, Func<string> Path, Func<string?> Caller, Field[] Fields,
            Func<List<(string Key, string Raw)>> Valid);

        private Target[] Targets =>
        [
            new("create user", HttpMethod.Post, () => "/api/user/create", () => null,
                [new("username", Kind.Name, Limits.UsernameMax), new("user_role", Kind.Role, 0)],
                () => [("username", g.Lit(g.Name(g.Between(1, Limits.UsernameMax)))), ("user_role", g.Lit(g.Pick(UserRoles.All)))]),
            new("change role", HttpMethod.Put, () => $"/api/user/{Esc(g.Pick([d.Doctor, d.Patient, d.Outsider]))}/role", () => null,
                [new("user_role", Kind.Role, 0)],
                () => [("user_role", g.Lit(g.Pick(UserRoles.All)))]),
            new("create group", HttpMethod.Post, () => "/api/group/create", () => d.Doctor,
                [new("group_name", Kind.Name, Limits.GroupNameMax), new("description", Kind.Prose, Limits.DescriptionMax),
                    new("created_by", Kind.OptionalId, Limits.IdMax)],
                () => Optional(
                    ("group_name", g.Lit(g.Name(g.Between(1, Limits.GroupNameMax)))),
                    ("description", g.Pick<string?>([null, "null", "\"\"", g.Lit(g.Prose(g.Between(1, 300)))])),
                    ("created_by", g.Pick<string?>([null, "null", g.Lit(d.Doctor)])))),
            new("add member", HttpMethod.Post, () => $"/api/group/{Esc(d.Group)}/members", () => null,
                [new("user_id", Kind.Id, Limits.MemberUserIdMax), new("user_role", Kind.Role, 0)],
                () => [("user_id", g.Lit(d.Outsider)), ("user_role", g.Lit(g.Pick(UserRoles.All)))]),
            new("send", HttpMethod.Post, () => "/api/message/send", () => g.Pick([d.Doctor, d.Patient]),
                [new("group_id", Kind.GroupRef, Limits.IdMax), new("content", Kind.Content, Limits.ContentMax),
                    new("client_msg_id", Kind.ClientMsgId, Limits.ClientMsgIdMax)],
                () => Optional(
                    ("group_id", g.Lit(d.Group)),
                    ("content", g.Lit(g.Prose(g.Between(1, 300)))),
                    ("client_msg_id", g.Chance(50) ? g.Lit(Fresh("rest-")) : null))),
        ];

        private static List<(string Key, string Raw)> Optional(params (string Key, string? Raw)[] properties) =>
            properties.Where(p => p.Raw is not null).Select(p => (p.Key, p.Raw!)).ToList();

        private RestCase Json(Target target, string path, string? caller, byte[] body, int[] statuses, string[] codes,
            string contentType = "application/json", bool chunked = false, params (string, string)[] headers) =>
            new("", target.Method, path, caller is null ? headers : [("X-User-Id", caller), .. headers], body, contentType, chunked,
                statuses, codes);

        private RestCase Json(Target target, byte[] body, string code) =>
            Json(target, target.Path(), target.Caller(), body, [StatusOf(code)], [code]);

        private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

        // ----- families

        private RestCase FieldFault()
        {
            var target = g.Pick(Targets);
            var properties = target.Valid();
            var fault = g.FieldFault(g.Pick(target.Fields), properties, webSocket: false);
            return Json(target, Utf8(g.Render(properties)), fault.Code);
        }

        private RestCase TwoFaults()
        {
            var target = g.Pick(Targets.Where(t => t.Fields.Length > 1).ToList());
            var properties = target.Valid();
            var fields = target.Fields.OrderBy(_ => g.Next(100)).Take(2).ToList();
            var faults = fields.Select(f => g.FieldFault(f, properties, webSocket: false)).ToList();
            // Which check runs first decides the answer; either fault's answer is documented.
            var codes = faults.Select(f => f.Code).Distinct().ToArray();
            return Json(target, target.Path(), target.Caller(), Utf8(g.Render(properties)), codes.Select(StatusOf).Distinct().ToArray(), codes);
        }

        private RestCase MalformedJson()
        {
            var target = g.Pick(Targets);
            return Json(target, Utf8(g.Malformed(target.Valid())), ErrorCodes.InvalidParameter);
        }

        private RestCase NotAnObject()
        {
            var target = g.Pick(Targets);
            return Json(target, Utf8(g.NotAnObject(g.Render(target.Valid()))), ErrorCodes.InvalidParameter);
        }

        private RestCase DuplicateProperty()
        {
            var target = g.Pick(Targets);
            return Json(target, Utf8(g.WithDuplicate(target.Valid())), ErrorCodes.InvalidParameter);
        }

        private RestCase InvalidUtf8Body()
        {
            var target = g.Pick(Targets);
            return Json(target, g.WithInvalidUtf8(target.Valid()), ErrorCodes.InvalidParameter);
        }

        private RestCase TooLarge()
        {
            var target = g.Pick(Targets);
            var body = g.Padded(g.Render(target.Valid()), MaxFrameBytes + 1 + g.Next(20_000));
            return Json(target, target.Path(), target.Caller(), body, [400], [ErrorCodes.InvalidParameter], chunked: g.Chance(50));
        }

        private RestCase WrongContentType()
        {
            var target = g.Pick(Targets);
            var properties = target.Valid();
            // The media type is checked before the body is read, so a body fault on top changes nothing.
            if (g.Chance(30)) g.FieldFault(g.Pick(target.Fields), properties, webSocket: false);
            var contentType = g.Pick<string?>([null, "text/plain", "text/json", "application/xml", "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x", "application/jsonx", "application/octet-stream", "json", "text/plain; charset=utf-8",
                "application/js", "text/html"]);
            var body = g.Chance(10) ? null : Utf8(g.Render(properties));
            var headers = target.Caller() is { } caller ? new[] { ("X-User-Id", caller) } : [];
            return new RestCase("", target.Method, target.Path(), headers, body, contentType, false, [415], [ErrorCodes.UnsupportedMediaType]);
        }

        private RestCase PathId()
        {
            var (id, code) = g.Next(4) switch
            {
                0 => (g.Name(Limits.IdMax + g.Between(1, 60)), ErrorCodes.InvalidParameter),
                1 => (g.ControlText(prose: false, raw: false, inPath: true).Text, ErrorCodes.InvalidParameter),
                2 => (g.BidiText(), ErrorCodes.InvalidParameter),
                _ => (g.UnknownId(inPath: true), ""),
            };
            RestCase Ask(HttpMethod method, string path, string? caller, string? body, string notFound)
            {
                var expected = code == "" ? notFound : code;
                var headers = caller is null ? Array.Empty<(string, string)>() : [("X-User-Id", caller)];
                return new RestCase("", method, path, headers, body is null ? null : Utf8(body), "application/json", false,
                    [StatusOf(expected)], [expected]);
            }
            return g.Next(8) switch
            {
                0 => Ask(HttpMethod.Get, $"/api/user/{Esc(id)}", null, null, ErrorCodes.UserNotFound),
                1 => Ask(HttpMethod.Get, $"/api/group/{Esc(id)}", null, null, ErrorCodes.GroupNotFound),
                2 => Ask(HttpMethod.Get, $"/api/group/{Esc(id)}/members", null, null, ErrorCodes.GroupNotFound),
                3 => Ask(HttpMethod.Get, $"/api/message/{Esc(id)}", null, null, ErrorCodes.MessageNotFound),
                4 => Ask(HttpMethod.Put, $"/api/user/{Esc(id)}/role", null, $"{{\"user_role\":\"{UserRoles.Doctor}\"}}", ErrorCodes.UserNotFound),
                5 => Ask(HttpMethod.Post, $"/api/group/{Esc(id)}/members", null,
                    $"{{\"user_id\":{g.Lit(d.Outsider)},\"user_role\":\"{UserRoles.Patient}\"}}", ErrorCodes.GroupNotFound),
                6 => Ask(HttpMethod.Delete, $"/api/group/{Esc(id)}/members/{Esc(d.Patient)}", d.Doctor, null, ErrorCodes.GroupNotFound),
                _ => Ask(HttpMethod.Delete, $"/api/group/{Esc(d.Group)}/members/{Esc(id)}", d.Doctor, null, ErrorCodes.UserNotFound),
            };
        }

        private RestCase NulInPath()
        {
            var id = g.Pick(["%00", "a%00", "%00" + Esc(d.Doctor), Esc(d.Group) + "%00"]);
            var path = g.Pick([$"/api/user/{id}", $"/api/group/{id}", $"/api/group/{id}/members", $"/api/message/{id}"]);
            return new RestCase("", HttpMethod.Get, path, [], null, null, false, [400], [ErrorCodes.InvalidParameter], MayHaveNoBody: true);
        }

        private static readonly string[] BadPages =
        [
            "0", "00", "-1", "1x", "x1", "1%00", "%001", "1%20", "%201", "+1", "%2B1", "1.0", "1e2", "0x1", "%EF%BC%91", "%D9%A1",
            "%E0%A5%A7", "", "99999999999", "9999999999999999999", "NaN", "null", "true", "1%0A", "%FF", "1%C2%A0", "%091", "2147483648",
            "1_0", "%E2%80%AE1",
        ];

        private static readonly string[] BadPageSizes =
        [
            "0", "101", "1000", "-5", "2%20", "2x", "%EF%BC%92", "", "1e1", "0x10", "10.5", "9999999999999999999", "%00", "20%00",
            "+20", "twenty", "%D9%A2", "1%2C2",
        ];

        private static readonly string[] BadAfterSeqs =
        [
            "-1", "1x", "x", "", "%EF%BC%91", "1.5", "1e3", "0x1", "%2B1", "1%00", "99999999999999999999", "%201", "-0", "%D9%A0",
            "0%20", "null",
        ];

        private RestCase ListQuery()
        {
            var messages = g.Chance(60);
            var path = messages ? "/api/message/list" : "/api/ai/interactions";
            var group = $"group_id={Esc(d.Group)}";
            var (query, code) = g.Next(9) switch
            {
                0 => (g.Pick(["", "page=1", "page_size=10", "group=" + Esc(d.Group), "groupId=" + Esc(d.Group)]), ErrorCodes.GroupIdEmpty),
                1 => (g.Pick(["group_id=", "group_id=&page=1", "page=2&group_id="]), ErrorCodes.GroupIdEmpty),
                2 => ("group_id=" + Esc(g.Name(Limits.IdMax + g.Between(1, 40))), ErrorCodes.InvalidParameter),
                3 => ("group_id=" + g.Pick(["%00", "%01", "%1F", "%7F", "%C2%85", "%0A"]) + Esc(d.Group), ErrorCodes.InvalidParameter),
                4 => ("group_id=" + Esc(d.Group) + g.Pick(["%E2%80%AE", "%E2%80%AA", "%E2%81%A6", "%E2%81%A9"]), ErrorCodes.InvalidParameter),
                5 => ("group_id=" + Esc(g.UnknownId()), ErrorCodes.GroupNotFound),
                6 => ($"{group}&page={g.Pick(BadPages)}", ErrorCodes.InvalidParameter),
                7 => ($"{group}&page_size={g.Pick(BadPageSizes)}", ErrorCodes.InvalidParameter),
                _ => messages
                    ? ($"{group}&after_seq={g.Pick(BadAfterSeqs)}", ErrorCodes.InvalidParameter)
                    : ($"{group}&{g.Pick(["page=1&page=2", "page_size=5&page_size=5"])}", ErrorCodes.InvalidParameter),
            };
            return new RestCase("", HttpMethod.Get, path + "?" + query, [], null, null, false, [StatusOf(code)], [code]);
        }

        private RestCase UnknownRoute()
        {
            var path = g.Pick([
                "/api", "/api/users", "/api/user", "/api/groups", "/api/group", "/api/message", "/api/messages", "/api/ai",
                "/api/ai/interaction", "/api/ai/interactions/x", "/api/info/x", $"/api/user/{Esc(d.Doctor)}/roles",
                $"/api/user/{Esc(d.Doctor)}/role/x", $"/api/group/{Esc(d.Group)}/member", $"/api/group/{Esc(d.Group)}/members/{Esc(d.Patient)}/x",
                "/api/message/list/x", "/api/message/send/x", $"/api/message/{Esc(d.DoctorMessage)}/x", "/nope", "/health", "/health/x",
                "/ws", $"/ws/{Esc(d.Doctor)}/x", "/dev", "/dev/ai/v1/chat", "/index.html", "/.env", "/api/v1/user/create",
            ]);
            var method = g.Pick([HttpMethod.Get, HttpMethod.Post, HttpMethod.Put, HttpMethod.Delete]);
            var body = method == HttpMethod.Get || method == HttpMethod.Delete ? null : Utf8("{}");
            return new RestCase("", method, path, [("X-User-Id", d.Doctor)], body, "application/json", false, [404], [ErrorCodes.NotFound]);
        }

        private RestCase WrongMethod()
        {
            var (user, group, message, member) = (Esc(d.Doctor), Esc(d.Group), Esc(d.DoctorMessage), Esc(d.Patient));
            (HttpMethod Method, string Path, string Code)[] wrong =
            [
                (HttpMethod.Delete, "/api/user/create", ""), (HttpMethod.Put, "/api/user/create", ""), (Patch, "/api/user/create", ""),
                (HttpMethod.Post, $"/api/user/{user}", ""), (Patch, $"/api/user/{user}", ""), (HttpMethod.Delete, $"/api/user/{user}", ""),
                (HttpMethod.Get, $"/api/user/{user}/role", ""), (HttpMethod.Post, $"/api/user/{user}/role", ""),
                (HttpMethod.Delete, $"/api/user/{user}/role", ""), (HttpMethod.Put, "/api/group/create", ""),
                (HttpMethod.Delete, "/api/group/create", ""), (HttpMethod.Post, $"/api/group/{group}", ""),
                (HttpMethod.Put, $"/api/group/{group}", ""), (HttpMethod.Delete, $"/api/group/{group}", ""),
                (Patch, $"/api/group/{group}", ""), (HttpMethod.Put, $"/api/group/{group}/members", ""),
                (HttpMethod.Delete, $"/api/group/{group}/members", ""), (HttpMethod.Get, $"/api/group/{group}/members/{member}", ""),
                (HttpMethod.Post, $"/api/group/{group}/members/{member}", ""), (HttpMethod.Put, $"/api/group/{group}/members/{member}", ""),
                (HttpMethod.Put, "/api/message/send", ""), (HttpMethod.Delete, "/api/message/send", ""), (Patch, "/api/message/send", ""),
                (HttpMethod.Post, "/api/message/list", ""), (HttpMethod.Delete, "/api/message/list", ""),
                (HttpMethod.Post, $"/api/message/{message}", ""), (HttpMethod.Put, $"/api/message/{message}", ""),
                (HttpMethod.Delete, $"/api/message/{message}", ""), (HttpMethod.Post, "/api/ai/interactions", ""),
                (HttpMethod.Delete, "/api/ai/interactions", ""), (HttpMethod.Post, "/api/info", ""), (HttpMethod.Delete, "/api/info", ""),
                (HttpMethod.Put, "/api/info", ""), (HttpMethod.Trace, "/api/info", ""), (HttpMethod.Options, "/api/user/create", ""),
                (HttpMethod.Options, "/api/message/send", ""), (HttpMethod.Head, "/api/info", ""), (HttpMethod.Head, "/api/message/send", ""),
                // A GET on a POST-only path is a read of the id route beside it, for an id that names nothing.
                (HttpMethod.Get, "/api/user/create", ErrorCodes.UserNotFound), (HttpMethod.Get, "/api/group/create", ErrorCodes.GroupNotFound),
                (HttpMethod.Get, "/api/message/send", ErrorCodes.MessageNotFound),
            ];
            var (method, path, code) = g.Pick(wrong);
            if (code == "") code = ErrorCodes.MethodNotAllowed;
            var body = method == HttpMethod.Get || method == HttpMethod.Head || method == HttpMethod.Trace || g.Chance(50)
                ? null
                : Utf8($"{{\"group_id\":{g.Lit(d.Group)},\"content\":\"hi\"}}");
            return new RestCase("", method, path, [("X-User-Id", d.Doctor)], body, "application/json", false, [StatusOf(code)], [code],
                MayHaveNoBody: method == HttpMethod.Head);
        }

        private RestCase CallerFault()
        {
            var send = $"{{\"group_id\":{g.Lit(d.Group)},\"content\":{g.Lit(g.Prose(g.Between(1, 100)))}}}";
            var create = $"{{\"group_name\":{g.Lit(g.Name(g.Between(1, 40)))}}}";
            // A header that says nothing is no caller; a name that is no user is 2001 once the request itself is valid.
            var (caller, missingCode) = g.Next(5) switch
            {
                0 => ((string?)null, ErrorCodes.Unauthorized),
                1 => (g.Pick(["", " ", "  "]), ErrorCodes.Unauthorized),
                2 => (g.AsciiId(Limits.IdMax + g.Between(1, 40)), ErrorCodes.Unauthorized),
                3 => (g.AsciiUnknownId(), ""),
                _ => (d.Outsider, ""),
            };
            var known = missingCode == "";
            var (method, path, body, code) = g.Next(3) switch
            {
                0 => (HttpMethod.Post, "/api/group/create", create,
                    known ? (caller == d.Outsider ? "" : ErrorCodes.UserNotFound) : missingCode),
                1 => (HttpMethod.Post, "/api/message/send", send,
                    known ? (caller == d.Outsider ? ErrorCodes.NotMember : ErrorCodes.UserNotFound) : missingCode),
                // Only a DOCTOR member removes members: anyone else, known or not, is refused before the target is looked at.
                _ => (HttpMethod.Delete, $"/api/group/{Esc(d.Group)}/members/{Esc(g.Pick([d.Patient, d.Doctor]))}", (string?)null,
                    known ? ErrorCodes.Forbidden : missingCode),
            };
            if (code == "")
            {
                // The outsider is a real user and may create groups: that is a valid request, so ask something it may not do.
                (method, path, body, code) = (HttpMethod.Post, "/api/message/send", send, ErrorCodes.NotMember);
            }
            var headers = caller is null ? Array.Empty<(string, string)>() : [("X-User-Id", caller)];
            return new RestCase("", method, path, headers, body is null ? null : Utf8(body), "application/json", false,
                [StatusOf(code)], [code]);
        }

        private RestCase IdempotencyFault()
        {
            var (sender, usedKey) = g.Chance(50) ? (d.Doctor, FuzzData.DoctorKey) : (d.Patient, FuzzData.PatientKey);
            // Never the setup content: the same key with the same content would be a valid replay.
            var content = "fuzz " + g.Prose(g.Between(1, 100));
            string Body(string? clientMsgId) =>
                $"{{\"group_id\":{g.Lit(d.Group)},\"content\":{g.Lit(content)}{(clientMsgId is null ? "" : ",\"client_msg_id\":" + g.Lit(clientMsgId))}}}";
            var (key, body, code) = g.Next(6) switch
            {
                0 => (Fresh("key-a-"), Body(Fresh("key-b-")), ErrorCodes.InvalidParameter),
                1 => (g.AsciiId(Limits.ClientMsgIdMax + g.Between(1, 40)), Body(null), ErrorCodes.InvalidParameter),
                2 => (g.Pick(["", " "]), Body(null), ErrorCodes.InvalidParameter),
                3 => (usedKey, Body(null), ErrorCodes.IdempotencyConflict),
                4 => ((string?)null, Body(usedKey), ErrorCodes.IdempotencyConflict),
                _ => (usedKey, Body(usedKey), ErrorCodes.IdempotencyConflict),
            };
            (string, string)[] headers = key is null ? [("X-User-Id", sender)] : [("X-User-Id", sender), ("Idempotency-Key", key)];
            return new RestCase("", HttpMethod.Post, "/api/message/send", headers, Utf8(body), "application/json", false,
                [StatusOf(code)], [code]);
        }

        private RestCase MemberRules()
        {
            var role = g.Lit(g.Pick(UserRoles.All));
            var (method, path, body, code) = g.Next(4) switch
            {
                0 => (HttpMethod.Post, $"/api/group/{Esc(d.Group)}/members", $"{{\"user_id\":{g.Lit(g.UnknownId())},\"user_role\":{role}}}",
                    ErrorCodes.UserNotFound),
                1 => (HttpMethod.Post, $"/api/group/{Esc(d.Group)}/members", $"{{\"user_id\":{g.Lit(g.Pick([d.Doctor, d.Patient]))},\"user_role\":{role}}}",
                    ErrorCodes.AlreadyMember),
                2 => (HttpMethod.Post, $"/api/group/{Esc(g.UnknownId(inPath: true))}/members", $"{{\"user_id\":{g.Lit(d.Outsider)},\"user_role\":{role}}}",
                    ErrorCodes.GroupNotFound),
                _ => (HttpMethod.Delete, $"/api/group/{Esc(d.Group)}/members/{Esc(d.Outsider)}", null, ErrorCodes.NotMember),
            };
            return new RestCase("", method, path, [("X-User-Id", d.Doctor)], body is null ? null : Utf8(body), "application/json", false,
                [StatusOf(code)], [code]);
        }

        private RestCase ImageSend()
        {
            var sender = g.Chance(80) ? g.Pick([d.Doctor, d.Patient]) : d.Outsider;
            var usedKey = sender == d.Patient ? FuzzData.PatientKey : FuzzData.DoctorKey;
            var fault = _images.Make(sender, g.Chance(50) ? Fresh("img-") : null, usedKey, webSocket: false);
            var headers = new List<(string, string)> { ("X-User-Id", sender) };
            // The Idempotency-Key header says what the body's client_msg_id would: the answer stays the same.
            if (fault.EchoedId is { } key && g.Chance(30))
            {
                fault.Properties.RemoveAll(p => p.Key == "client_msg_id");
                headers.Add(("Idempotency-Key", key));
            }
            return new RestCase("", HttpMethod.Post, "/api/message/send", [.. headers], Utf8(g.Render(fault.Properties)), "application/json",
                false, [StatusOf(fault.Code)], [fault.Code]);
        }

        private RestCase SocketOverHttp()
        {
            var user = g.Next(4) switch
            {
                0 => g.Name(Limits.IdMax + g.Between(1, 20)),
                1 => g.ControlText(prose: false, raw: false, inPath: true).Text,
                2 => g.UnknownId(inPath: true),
                _ => g.Pick([d.Doctor, d.Patient, d.Outsider]),
            };
            var method = g.Pick([HttpMethod.Get, HttpMethod.Post, HttpMethod.Put, HttpMethod.Delete]);
            return new RestCase("", method, $"/ws/{Esc(user)}", [], null, null, false, [400], [ErrorCodes.InvalidParameter]);
        }
    }

    /// <summary>
    /// Image uploads (<c>POST /api/media</c>) and reads. An upload starts as a valid one by a member and
    /// gets one fault or more, each at one of the checks the service makes, in <see cref="Check"/>'s
    /// order; the earliest failing check answers. So a fault that only the decoder can see is tried by
    /// members, and the same bytes from a non-member must be refused before anything is decoded.
    /// </summary>
    private sealed class MediaFuzz(Gen g, FuzzData d)
    {
        private const int MaxBytes = 5 * 1024 * 1024;
        private const int MultipartOverhead = 64 * 1024;

        // MultipartReader's own limits (16 KiB of part headers, 16 headers a part, a 16 KiB preamble)
        // and RFC 2046's 70 characters of boundary.
        private const int ReaderLimit = 16 * 1024;
        private const int BoundaryMax = 70;

        /// <summary>The checks of an upload, in the order the service makes them.</summary>
        public enum Check { Caller, GroupId, ContentType, Multipart, NotAnImage, Access, Decode }

        private sealed record Upload(string? Caller, string Query, byte[] File, bool Multipart, string ImageType, bool Chunked)
        {
            /// <summary>The body and its Content-Type, once a fault has replaced those a valid upload would have.</summary>
            public Func<(byte[] Body, string? ContentType)>? Framing { get; init; }
        }

        private sealed record Fault(string Code, Func<Upload, Upload> Apply);

        /// <summary>A multipart/form-data body: its parts' header lines and bodies.</summary>
        private sealed record Form(string Boundary, List<(string Headers, byte[] Body)> Parts, string Preamble, string Epilogue)
        {
            public byte[] Bytes()
            {
                using var body = new MemoryStream();
                void Write(string text) => body.Write(Encoding.UTF8.GetBytes(text));
                if (Preamble.Length > 0) Write(Preamble + "\r\n");
                foreach (var (headers, content) in Parts)
                {
                    Write($"--{Boundary}\r\n{(headers.Length == 0 ? "" : headers + "\r\n")}\r\n");
                    body.Write(content);
                    Write("\r\n");
                }
                Write($"--{Boundary}--\r\n{Epilogue}");
                return body.ToArray();
            }

            /// <summary>Where the file part's bytes end: a body cut there or before has not finished the part.</summary>
            public int FileEnd()
            {
                var file = Parts.FindIndex(p => p.Headers.Contains("name=\"file\"", StringComparison.Ordinal));
                return (this with { Parts = Parts.Take(file + 1).ToList() }).Bytes().Length - $"\r\n--{Boundary}--\r\n{Epilogue}".Length;
            }
        }

        public RestCase Faulty(params Check[] checks)
        {
            var upload = Valid();
            // From the last check to the first, so that an earlier check's fault wins where two touch the same part.
            var faults = checks.Distinct().OrderDescending().Select(FaultAt).ToList();
            foreach (var fault in faults) upload = fault.Apply(upload);
            var (body, contentType) = Frame(upload);
            var headers = upload.Caller is null ? Array.Empty<(string, string)>() : [("X-User-Id", upload.Caller)];
            var code = faults[^1].Code;
            return new RestCase("", HttpMethod.Post, "/api/media?" + upload.Query, headers, body, contentType, upload.Chunked,
                [StatusOf(code)], [code]);
        }

        /// <summary>Two or three checks fail; the answer is the first one's.</summary>
        public RestCase FaultyInOrder()
        {
            var checks = Enum.GetValues<Check>().OrderBy(_ => g.Next(100)).Take(g.Between(2, 3)).ToArray();
            return Faulty(checks);
        }

        private Upload Valid() => new(
            g.Pick([d.Doctor, d.Patient]),
            g.Pick(["", "note=x&", "group_id_x=1&"]) + "group_id=" + Esc(d.Group) + g.Pick(["", "", "&page=1", "&filename=a.jpg"]),
            g.Pick(Pictures.Valid),
            g.Chance(50),
            // The service takes the type from the bytes, so any image/* will do.
            g.Pick(["image/jpeg", "image/png", "image/webp", "image/gif", "IMAGE/JPEG", "image/x-photo", "image/svg+xml", "image/*",
                "image/png; charset=binary", "image/heic"]),
            g.Chance(15));

        private (byte[] Body, string? ContentType) Frame(Upload upload)
        {
            if (upload.Framing is { } framing) return framing();
            if (!upload.Multipart) return (upload.File, upload.ImageType);
            var form = WellFormed(upload.File);
            return (form.Bytes(), FormType(form.Boundary));
        }

        private Fault FaultAt(Check check)
        {
            var invalid = ErrorCodes.InvalidParameter;
            switch (check)
            {
                case Check.Caller:
                    // A header that says nothing is no caller; one too long to be an id is refused as it is read.
                    var caller = g.Pick<string?>([null, "", " ", g.AsciiId(Limits.IdMax + g.Between(1, 40))]);
                    return new(ErrorCodes.Unauthorized, u => u with { Caller = caller });
                case Check.GroupId:
                    var (query, code) = g.Next(5) switch
                    {
                        0 => (g.Pick(["", "page=1", "group=" + Esc(d.Group), "groupId=" + Esc(d.Group), "group_idx=1"]), ErrorCodes.GroupIdEmpty),
                        1 => (g.Pick(["group_id=", "group_id=&page=1", "note=x&group_id="]), ErrorCodes.GroupIdEmpty),
                        2 => ("group_id=" + Esc(g.Name(Limits.IdMax + g.Between(1, 40))), invalid),
                        3 => ("group_id=" + g.Pick(["%00", "%01", "%1F", "%7F", "%C2%85", "%0A", "%09"]) + Esc(d.Group), invalid),
                        _ => ("group_id=" + Esc(d.Group) + g.Pick(["%E2%80%AE", "%E2%80%AA", "%E2%81%A6", "%E2%81%A9"]), invalid),
                    };
                    return new(code, u => u with { Query = query });
                case Check.ContentType:
                    var type = g.Pick<string?>(BadTypes);
                    return new(ErrorCodes.UnsupportedMediaType, u => u with { Framing = () => (Frame(u).Body, type) });
                case Check.Multipart:
                    return new(invalid, u => u with { Framing = () => BrokenForm(u.File) });
                case Check.NotAnImage:
                    var notAnImage = NotAnImage();
                    return new(ErrorCodes.UnsupportedMediaType, u => u with { File = notAnImage });
                case Check.Access:
                    // Membership is checked before the decoder runs: broken bytes from a non-member get the same answer.
                    var bytes = g.Chance(30) ? Undecodable() : null;
                    var unknownGroup = "group_id=" + Esc(g.UnknownId());
                    var otherGroup = "group_id=" + Esc(d.OtherGroup);
                    var unknownUser = g.AsciiUnknownId();
                    var (access, accessCode) = g.Next(6) switch
                    {
                        0 => ((Func<Upload, Upload>)(u => u with { Query = unknownGroup }), ErrorCodes.GroupNotFound),
                        1 => (u => u with { Caller = d.Outsider }, ErrorCodes.NotMember),
                        2 => (u => u with { Query = otherGroup }, ErrorCodes.NotMember),
                        3 => (u => u with { Caller = unknownUser }, ErrorCodes.UserNotFound),
                        4 => (u => u with { Caller = unknownUser, Query = otherGroup }, ErrorCodes.UserNotFound),
                        _ => (u => u with { Caller = g.Pick([d.Outsider, unknownUser]), Query = unknownGroup }, ErrorCodes.GroupNotFound),
                    };
                    return new(accessCode, u => access(u) with { File = bytes ?? u.File });
                default:
                    var undecodable = Undecodable();
                    return new(invalid, u => u with { File = undecodable });
            }
        }

        private static readonly string?[] BadTypes =
        [
            null, "", "text/plain", "application/json", "application/octet-stream", "application/x-www-form-urlencoded",
            "multipart/mixed; boundary=b0undary", "multipart/related; boundary=b0undary", "multipart/alternative; boundary=b0undary",
            "video/mp4", "application/pdf", "text/html", "image", "image/", "imagex/png", "form-data; boundary=b0undary",
            "multipart/form-datax; boundary=b0undary", "application/image", "text/image", "image/png, text/plain", "x-image/png",
            "audio/png", "application/jpeg", "multipart; boundary=b0undary",
        ];

        // ----- multipart bodies

        private string NewBoundary() =>
            g.Pick(["----WebKitFormBoundary", "--------------------------", "", "Boundary-", "----geckoformboundary"]) + g.Ascii(g.Between(8, 30));

        private string FormType(string boundary) =>
            g.Pick(["multipart/form-data", "multipart/form-data", "Multipart/Form-Data"]) +
            (g.Chance(30) ? $"; boundary=\"{boundary}\"" : $"; boundary={boundary}") + (g.Chance(10) ? "; charset=utf-8" : "");

        private string FileHeaders(string name = "name=\"file\"") =>
            $"Content-Disposition: form-data; {name}" +
            (g.Chance(70) ? $"; filename=\"{g.Pick(["photo.jpg", "IMG_0001.HEIC", "scan.png", "a", "x.gif", "报告.jpg"])}\"" : "") +
            (g.Chance(60) ? $"\r\nContent-Type: {g.Pick(["image/jpeg", "image/png", "application/octet-stream", "text/plain"])}" : "");

        private (string Headers, byte[] Body) OtherField() =>
            ($"Content-Disposition: form-data; name=\"{g.Pick(["note", "caption", "group_id", "client_msg_id", "files", "image"])}\"",
                Utf8(g.Prose(g.Between(1, 40))));

        private Form WellFormed(byte[] file, string? boundary = null)
        {
            var parts = Enumerable.Range(0, g.Chance(30) ? g.Between(1, 2) : 0).Select(_ => OtherField()).ToList();
            parts.Add((FileHeaders(), file));
            if (g.Chance(20)) parts.Add(OtherField());
            return new Form(boundary ?? NewBoundary(), parts, g.Chance(15) ? "This is a multi-part message in MIME format." : "",
                g.Chance(15) ? "epilogue" : "");
        }

        private Form WithFileHeaders(Form form, string headers) =>
            form with { Parts = form.Parts.Select(p => p.Headers.Contains("name=\"file\"", StringComparison.Ordinal) ? (headers, p.Body) : p).ToList() };

        /// <summary>A multipart body the service cannot take a file from: 400 INVALID_PARAMETER.</summary>
        private (byte[] Body, string? ContentType) BrokenForm(byte[] file)
        {
            var form = WellFormed(file);
            var type = FormType(form.Boundary);
            switch (g.Next(13))
            {
                case 0:
                    return (form.Bytes(), g.Pick(["multipart/form-data", "multipart/form-data; charset=utf-8", "Multipart/Form-Data",
                        "multipart/form-data; name=file", $"multipart/form-data; boundary-x={form.Boundary}"]));
                case 1:
                    return (form.Bytes(), g.Pick(["multipart/form-data; boundary=\"\"", "multipart/form-data; boundary="]));
                case 2:
                    return (form.Bytes(), FormType(NewBoundary()));
                case 3:
                {
                    var name = g.Pick(["name=\"image\"", "name=\"files\"", "name=\"upload\"", "name=\"\"", "name=\"file2\"", "name=\"filex\"",
                        "name=\"fil\"", "name=\"the file\"", "filename=\"file\"", "name=\"file[]\""]);
                    return (WithFileHeaders(form, FileHeaders(name)).Bytes(), type);
                }
                case 4:
                    return (WithFileHeaders(form, g.Pick(["", "Content-Type: image/jpeg", "Content-Disposition: ", "Content-Disposition: ;;",
                        "Content-Disposition: form-data", "X-Name: file"])).Bytes(), type);
                case 5:
                    return (form.Bytes()[..g.Between(0, form.FileEnd())], type);
                case 6:
                    return (g.Pick([file, Utf8("{\"file\":\"x\"}"), Utf8("file=" + Convert.ToBase64String(file)), Pictures.Png]), type);
                case 7:
                    return ([], type);
                case 8:
                {
                    // MultipartReader's answer to these is an InvalidDataException, not an IOException.
                    var line = g.Pick(["X-Note", "Content-Disposition form-data; name=\"file\"", ": file", "no colon here"]);
                    return (WithFileHeaders(form, g.Chance(50) ? FileHeaders() + "\r\n" + line : line + "\r\n" + FileHeaders()).Bytes(), type);
                }
                case 9:
                {
                    var extra = string.Join("\r\n", Enumerable.Range(0, g.Between(17, 40)).Select(i => $"X-Header-{i}: {i}"));
                    return (WithFileHeaders(form, FileHeaders() + "\r\n" + extra).Bytes(), type);
                }
                case 10:
                    return (WithFileHeaders(form, FileHeaders() + "\r\nX-Pad: " + g.Ascii(ReaderLimit + g.Between(1, 4000))).Bytes(), type);
                case 11:
                {
                    // Beyond RFC 2046's 70 characters; past 16 KiB MultipartReader cannot even hold it.
                    var boundary = NewBoundary() + g.Ascii(g.Chance(50) ? g.Between(BoundaryMax, 200) : g.Between(ReaderLimit, ReaderLimit + 4000));
                    return ((form with { Boundary = boundary }).Bytes(), $"multipart/form-data; boundary={boundary}");
                }
                default:
                    return ((form with { Preamble = g.Ascii(ReaderLimit + g.Between(1, 8000)) }).Bytes(), type);
            }
        }

        // ----- the bytes

        /// <summary>Not JPEG, PNG, WebP or GIF by its first bytes: 415 before anything else is looked at.</summary>
        private byte[] NotAnImage()
        {
            var image = g.Pick(Pictures.Valid);
            switch (g.Next(12))
            {
                case 0: return TestImages.Text();
                case 1: return TestImages.Svg();
                case 2: return [];
                case 3:
                    return Utf8(g.Pick([
                        "<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>", "%PDF-1.7\n1 0 obj\n<<>>\nendobj\n",
                        "{\"file\":\"photo.jpg\"}", "<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>",
                        "\uFEFF<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>", "#!/bin/sh\nrm -rf /\n", "GIF", "RIFF", "\u0089PNG",
                    ]));
                case 4: return Utf8("data:image/png;base64," + Convert.ToBase64String(Pictures.Png));
                case 5: return Utf8(Convert.ToBase64String(image));
                case 6: return g.Pick(Pictures.OtherFormats);
                case 7: return [g.Pick<byte>([0x20, 0x00, 0x0A, 0xEF]), .. image];
                case 8:
                {
                    // Too few bytes to say what they are.
                    var (prefix, max) = g.Pick([(Pictures.Jpeg, 10), (Pictures.Png, 7), (Pictures.Gif, 5), (Pictures.Webp, 11)]);
                    return prefix[..g.Between(1, max)];
                }
                case 9: return [0x50, 0x4B, 0x03, 0x04, .. g.Bytes(g.Between(0, 2000))];
                default:
                {
                    // Anything, but no accepted format's first byte.
                    var bytes = g.Bytes(g.Between(1, 5000));
                    while (bytes[0] is 0xFF or 0x89 or (byte)'G' or (byte)'R') bytes[0] = (byte)g.Next(256);
                    return bytes;
                }
            }
        }

        /// <summary>
        /// A JPEG, PNG, WebP or GIF by its first bytes that no decoder makes an image of. Cuts are made
        /// before the image data (a cut inside it is refused too, by the sanitizer's check that the file is whole).
        /// </summary>
        private byte[] Undecodable()
        {
            switch (g.Next(13))
            {
                case 0:
                {
                    var jpeg = g.Pick([Pictures.Jpeg, Pictures.BigJpeg]);
                    return jpeg[..g.Between(11, Pictures.ScanStart(jpeg))];
                }
                case 1: return TestImages.TruncatedJpeg();
                case 2: return Pictures.Png[..g.Between(8, Pictures.PngEnd - 1)];
                case 3: return Pictures.Gif[..g.Between(6, Pictures.GifFirstBlock)];
                case 4: return Pictures.Webp[..g.Between(12, Pictures.Vp8 + 17)];
                case 5:
                {
                    // A critical chunk whose checksum no longer matches: PNG decoders refuse it.
                    var png = Pictures.Png.ToArray();
                    png[g.Chance(30) ? g.Between(16, 32) : g.Between(Pictures.PngIdat, Pictures.PngEnd - 1)] ^= (byte)g.Between(1, 255);
                    return png;
                }
                case 6:
                {
                    byte[] magic = g.Pick([[0xFF, 0xD8, 0xFF], Pictures.Png[..8], Pictures.Webp[..12], Pictures.Webp[..16]]);
                    return [.. magic, .. g.Bytes(g.Between(16, 3000))];
                }
                case 7:
                {
                    // One format's signature on another's body.
                    var formats = new[] { (Pictures.Jpeg, 2), (Pictures.Png, 8), (Pictures.Gif, 6), (Pictures.Webp, 12) };
                    var head = g.Next(4);
                    var body = (head + g.Between(1, 3)) % 4;
                    return [.. formats[head].Item1[..formats[head].Item2], .. formats[body].Item1[formats[head].Item2..]];
                }
                case 8: return Dimensions(zero: true);
                case 9: return g.Chance(20) ? TestImages.PngBomb(g.Between(6_325, 30_000)) : Dimensions(zero: false);
                case 10:
                {
                    var webp = Pictures.Webp.ToArray();
                    webp[Pictures.Vp8x + 8] |= 0x02;
                    return webp;
                }
                case 11:
                {
                    // Broken after its text: refused at once only if the text is never inflated.
                    var bomb = Pictures.TextBomb(g.Chance(50));
                    var idat = bomb.AsSpan().IndexOf("IDAT"u8) - 4;
                    var end = bomb.AsSpan().IndexOf("IEND"u8) - 4;
                    if (g.Chance(50)) return bomb[..g.Between(idat, end - 1)];
                    bomb[g.Between(idat + 8, end - 1)] ^= (byte)g.Between(1, 255);
                    return bomb;
                }
                default:
                    // HTML behind a GIF signature: any two printable characters as the screen's width and height make over 67 million pixels.
                    return Utf8(g.Pick(["GIF89a", "GIF87a"]) + g.Pick(["<script>alert(1)</script>", "/*", "=1;alert(1)//", "<html>"]) +
                                g.Prose(g.Between(0, 100)).Replace('\n', ' ').Replace('\t', ' ').Replace('\r', ' '));
            }
        }

        /// <summary>A valid image whose header says it has no pixels, or over 40 million.</summary>
        private byte[] Dimensions(bool zero)
        {
            (int Width, int Height) Size(int max)
            {
                if (zero) return g.Chance(50) ? (0, g.Between(0, max)) : (g.Between(1, max), 0);
                while (true)
                {
                    var (w, h) = (g.Between(1, max), g.Between(1, max));
                    if ((long)w * h > 40_000_000) return (w, h);
                }
            }
            switch (g.Next(4))
            {
                case 0:
                {
                    var png = Pictures.Png.ToArray();
                    var (w, h) = Size(zero ? 100_000 : 1_000_000);
                    BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), w);
                    BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), h);
                    // With the checksum mended, or not: either way it must not decode.
                    if (zero || g.Chance(50)) BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Crc32.HashToUInt32(png.AsSpan(12, 17)));
                    return png;
                }
                case 1:
                {
                    var jpeg = Pictures.Jpeg.ToArray();
                    var (w, h) = Size(ushort.MaxValue);
                    BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(Pictures.JpegFrame + 5), (ushort)h);
                    BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(Pictures.JpegFrame + 7), (ushort)w);
                    return jpeg;
                }
                case 2:
                {
                    var gif = Pictures.Gif.ToArray();
                    var (w, h) = Size(ushort.MaxValue);
                    BinaryPrimitives.WriteUInt16LittleEndian(gif.AsSpan(6), (ushort)w);
                    BinaryPrimitives.WriteUInt16LittleEndian(gif.AsSpan(8), (ushort)h);
                    return gif;
                }
                default:
                {
                    // VP8's frame header: 14 bits of size, 2 of scale. (The VP8X canvas size is not what decoders go by.)
                    var webp = Pictures.Webp.ToArray();
                    var (w, h) = Size(0x3FFF);
                    BinaryPrimitives.WriteUInt16LittleEndian(webp.AsSpan(Pictures.Vp8 + 14), (ushort)(w | (g.Next(4) << 14)));
                    BinaryPrimitives.WriteUInt16LittleEndian(webp.AsSpan(Pictures.Vp8 + 16), (ushort)(h | (g.Next(4) << 14)));
                    return webp;
                }
            }
        }

        /// <summary>At and over the size limit: a fixed handful, as every one moves 5 MiB.</summary>
        public RestCase Large(int which)
        {
            var caller = g.Pick([d.Doctor, d.Patient]);
            var query = "group_id=" + Esc(d.Group);
            RestCase Post(byte[] body, string contentType, bool chunked, string code) =>
                new("", HttpMethod.Post, "/api/media?" + query, [("X-User-Id", caller)], body, contentType, chunked, [StatusOf(code)], [code]);
            byte[] Filler(byte[] head, int size) => [.. head, .. g.Bytes(size - head.Length)];
            var tooLarge = ErrorCodes.PayloadTooLarge;
            switch (which % 6)
            {
                case 0: return Post(Filler(Pictures.Jpeg[..20], MaxBytes + g.Between(1, 1000)), "image/jpeg", false, tooLarge);
                case 1: return Post(Filler(Pictures.Png[..8], MaxBytes + g.Between(1, 64 * 1024)), "image/png", true, tooLarge);
                case 2:
                {
                    // The body is within the multipart allowance, its file is not.
                    var form = WellFormed(Filler(Pictures.Jpeg[..20], MaxBytes + g.Between(1, 1000)));
                    return Post(form.Bytes(), FormType(form.Boundary), g.Chance(50), tooLarge);
                }
                case 3:
                {
                    var form = WellFormed(Pictures.Jpeg);
                    form.Parts.Insert(0, ("Content-Disposition: form-data; name=\"note\"", g.Bytes(MaxBytes + MultipartOverhead + g.Between(1, 1000))));
                    return Post(form.Bytes(), FormType(form.Boundary), g.Chance(50), tooLarge);
                }
                case 4:
                    // Exactly at the limit is read, and then refused by the decoder.
                    return Post(Filler(Pictures.Png[..8], MaxBytes), "image/png", g.Chance(50), ErrorCodes.InvalidParameter);
                default:
                {
                    var bytes = g.Bytes(MaxBytes);
                    bytes[0] = (byte)'x';
                    var form = WellFormed(bytes);
                    return Post(form.Bytes(), FormType(form.Boundary), false, ErrorCodes.UnsupportedMediaType);
                }
            }
        }

        // ----- reading

        public RestCase Read()
        {
            var (id, code) = g.Next(5) switch
            {
                0 => (g.Name(Limits.IdMax + g.Between(1, 60)), ErrorCodes.InvalidParameter),
                1 => (g.ControlText(prose: false, raw: false, inPath: true).Text, ErrorCodes.InvalidParameter),
                2 => (g.BidiText(), ErrorCodes.InvalidParameter),
                3 => (g.UnknownId(inPath: true), ErrorCodes.MediaNotFound),
                _ => (g.Pick(NearMisses(d)), ErrorCodes.MediaNotFound),
            };
            var caller = g.Pick<string?>([null, d.Doctor, d.Patient, d.Outsider]);
            return new RestCase("", HttpMethod.Get, $"/api/media/{Esc(id)}", caller is null ? [] : [("X-User-Id", caller)], null, null,
                false, [StatusOf(code)], [code]);
        }

        /// <summary>Ids that look like the group's image and are not one: an IMAGE send's content or a read must not find them.</summary>
        public static string[] NearMisses(FuzzData d) =>
        [
            d.Media + "x", d.Media[..^1], d.Media.ToUpperInvariant(), d.Media + ":bytes", " " + d.Media, d.Media + "\u200B",
            d.Media + "%", d.Media + "*", "media_" + d.Media[6..].Replace('2', '3'), d.DoctorMessage, d.Group, d.Doctor, "media_",
            "media:" + d.Media,
        ];

        public RestCase Route()
        {
            var media = Esc(d.Media);
            var group = Esc(d.Group);
            (HttpMethod Method, string Path, string Code)[] routes =
            [
                (HttpMethod.Post, $"/api/media/{media}", ErrorCodes.MethodNotAllowed),
                (HttpMethod.Put, $"/api/media/{media}", ErrorCodes.MethodNotAllowed),
                (HttpMethod.Delete, $"/api/media/{media}", ErrorCodes.MethodNotAllowed),
                (HttpMethod.Patch, $"/api/media/{media}", ErrorCodes.MethodNotAllowed),
                (HttpMethod.Head, $"/api/media/{media}", ErrorCodes.MethodNotAllowed),
                (HttpMethod.Get, $"/api/media?group_id={group}", ErrorCodes.MethodNotAllowed),
                (HttpMethod.Put, $"/api/media?group_id={group}", ErrorCodes.MethodNotAllowed),
                (HttpMethod.Delete, "/api/media", ErrorCodes.MethodNotAllowed),
                (HttpMethod.Options, "/api/media", ErrorCodes.MethodNotAllowed),
                (HttpMethod.Post, $"/api/media/upload?group_id={group}", ErrorCodes.MethodNotAllowed),
                (HttpMethod.Get, $"/api/media/{media}/x", ErrorCodes.NotFound),
                (HttpMethod.Post, $"/api/media/{media}/bytes?group_id={group}", ErrorCodes.NotFound),
                (HttpMethod.Get, "/api/medias", ErrorCodes.NotFound),
                (HttpMethod.Post, $"/api/group/{group}/media", ErrorCodes.NotFound),
                (HttpMethod.Post, $"/api/media/upload/x?group_id={group}", ErrorCodes.NotFound),
            ];
            var (method, path, code) = g.Pick(routes);
            var body = method == HttpMethod.Get || method == HttpMethod.Head || method == HttpMethod.Delete ? null : Pictures.Jpeg;
            return new RestCase("", method, path, [("X-User-Id", d.Doctor)], body, "image/jpeg", false, [StatusOf(code)], [code],
                MayHaveNoBody: method == HttpMethod.Head);
        }

        private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
    }

    // ---------------------------------------------------------------- WebSocket

    /// <param name="Pieces">The message's fragments, sent in order; one piece is an ordinary frame.</param>
    /// <param name="Code">The error frame's code, or null when the input closes the socket.</param>
    /// <param name="EchoedId">The client_msg_id the error frame must echo, when the frame carried a valid one.</param>
    private sealed record WsInput(string Family, byte[][] Pieces, WebSocketMessageType Type, string? Code, WebSocketCloseStatus? Close,
        string? EchoedId)
    {
        public override string ToString() =>
            $"[{Family}] {(Type == WebSocketMessageType.Binary ? "binary" : "text")} " +
            $"{(Pieces.Length > 1 ? $"in {Pieces.Length} fragments of {string.Join("+", Pieces.Select(p => p.Length))} bytes " : "")}" +
            Preview(Pieces.SelectMany(p => p).ToArray());
    }

    /// <summary>Frames sent together, then every answer collected; or one input that must close the socket.</summary>
    private sealed record WsStep(string Name, List<WsInput> Frames);

    private sealed record Lane(string Name, string UserId, List<WsStep> Steps);

    private async Task<List<string>> RunLane(Lane lane, ConcurrentQueue<string> answers)
    {
        var problems = new List<string>();
        WsClient? socket = null;
        try
        {
            socket = await WsClient.Connect(fuzz.Host.BaseAddress, lane.UserId);
            for (var s = 0; s < lane.Steps.Count; s++)
            {
                var step = lane.Steps[s];
                var where = $"{lane.Name} step {s} ({step.Name})";
                if (step.Frames is [{ Close: { } close } closer])
                {
                    if (await CloseProblem(socket, closer, close) is { } problem) problems.Add($"{where}: {closer}\n    {problem}");
                    answers.Enqueue($"close {(int?)socket.CloseStatus}");
                    await socket.DisposeAsync();
                    socket = null; // not disposed twice if the reconnect fails
                    // The new connection's session must say connected once, as every new session does.
                    socket = await WsClient.Connect(fuzz.Host.BaseAddress, lane.UserId);
                    continue;
                }
                foreach (var frame in step.Frames)
                {
                    for (var p = 0; p < frame.Pieces.Length; p++)
                        await socket.SendRaw(frame.Pieces[p], frame.Type, endOfMessage: p == frame.Pieces.Length - 1);
                }
                problems.AddRange((await AnswerProblems(socket, step.Frames, answers)).Select(p => $"{where}: {p}"));
                if (await QuietSocketProblem(socket) is { } quiet) problems.Add($"{where}: after the batch, {quiet}");
                if (problems.Count > 50) break;
            }
        }
        catch (Exception ex) when (ex is WebSocketException or InvalidOperationException or TimeoutException)
        {
            problems.Add($"{lane.Name}: the lane broke off: {ex.GetType().Name} {ex.Message}");
        }
        finally
        {
            if (socket is not null) await socket.DisposeAsync();
        }
        return problems;
    }

    /// <summary>Exactly one error frame per input, with the expected codes, and the echoed ids where there are any.</summary>
    private static async Task<List<string>> AnswerProblems(WsClient socket, List<WsInput> frames, ConcurrentQueue<string> answers)
    {
        var problems = new List<string>();
        var received = new List<JsonNode>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (received.Count < frames.Count)
        {
            var left = deadline - DateTime.UtcNow;
            try
            {
                if (left <= TimeSpan.Zero) throw new TimeoutException();
                var frame = await socket.Next(left);
                var type = (string?)frame["type"];
                if (type == FrameTypes.Connected)
                    problems.Add($"a second connected frame: the session restarted ({Clip(frame.ToJsonString(), 200)})");
                else if (type != FrameTypes.Error)
                    problems.Add($"expected only error frames, got {Clip(frame.ToJsonString(), 300)}");
                else if (string.IsNullOrEmpty((string?)frame["code"]) || string.IsNullOrEmpty((string?)frame["message"]))
                    problems.Add($"an error frame without code or message: {Clip(frame.ToJsonString(), 300)}");
                else
                {
                    received.Add(frame);
                    answers.Enqueue((string)frame["code"]!);
                }
                if (problems.Count > 10) return problems;
            }
            catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
            {
                problems.Add($"{frames.Count} bad frames got only {received.Count} error frames ({ex.Message}); codes " +
                             Diff(frames.Select(f => f.Code!), received.Select(r => (string)r["code"]!)) +
                             "; the frames: " + string.Join("; ", frames.Take(5)));
                return problems;
            }
        }

        var wrongCodes = Diff(frames.Select(f => f.Code!), received.Select(r => (string)r["code"]!));
        if (wrongCodes != "")
        {
            var suspects = frames.Where(f => !received.Any(r => (string?)r["code"] == f.Code)).Take(8);
            problems.Add($"codes differ from the expected ones: {wrongCodes}; frames whose code never came: {string.Join("\n      ", suspects)}");
        }
        var echoes = frames.Where(f => f.EchoedId is not null).ToLookup(f => f.EchoedId!);
        foreach (var frame in received)
        {
            if ((string?)frame["client_msg_id"] is not { } id) continue;
            var sources = echoes[id].ToList();
            if (sources.Count == 0)
                problems.Add($"an error frame echoes client_msg_id {id} of no frame that carried a valid one: {Clip(frame.ToJsonString(), 300)}");
            else if (sources.All(f => f.Code != (string?)frame["code"]))
                problems.Add($"{sources[0]}\n    expected {sources[0].Code}, got {Clip(frame.ToJsonString(), 300)}");
        }
        var echoed = received.Select(r => (string?)r["client_msg_id"]).Where(id => id is not null).ToHashSet();
        foreach (var frame in frames.Where(f => f.EchoedId is not null && !echoed.Contains(f.EchoedId)).Take(5))
            problems.Add($"{frame}\n    its error frame did not echo client_msg_id {frame.EchoedId}");
        return problems;
    }

    private static async Task<string?> CloseProblem(WsClient socket, WsInput input, WebSocketCloseStatus expected)
    {
        try
        {
            for (var p = 0; p < input.Pieces.Length; p++)
                await socket.SendRaw(input.Pieces[p], input.Type, endOfMessage: p == input.Pieces.Length - 1);
        }
        catch (Exception ex) when (ex is WebSocketException or InvalidOperationException or ObjectDisposedException)
        {
            // The server may close while the rest of an oversized or broken message is still being sent.
        }
        try
        {
            await socket.Closed.WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (TimeoutException)
        {
            return $"expected close {(int)expected}, the socket stayed open";
        }
        var frames = new List<string>();
        while (socket.TryNext(out var frame)) frames.Add(Clip(frame.ToJsonString(), 200));
        if (socket.CloseStatus != expected)
            return $"expected close {(int)expected} {expected}, got {(int?)socket.CloseStatus} {socket.CloseStatus}";
        return frames.Count == 0 ? null : $"closed {(int)expected} as expected, but first sent {string.Join(", ", frames)}";
    }

    /// <summary>The WebSocket inputs, per connected user: batches, a flood, fragmented messages and closing inputs.</summary>
    private sealed class WsFuzz(Gen g, FuzzData d)
    {
        private const int BatchSize = 120;
        private const int FloodSize = 260;
        private const int FragmentedBatchSize = 60;
        private const int ImageBatchSize = 80;
        private readonly ImageSends _images = new(g, d);
        private int _fresh;

        public List<Lane> Plan() =>
        [
            PlanLane("doctor", d.Doctor, member: true, FuzzData.DoctorKey),
            PlanLane("patient", d.Patient, member: true, FuzzData.PatientKey),
            PlanLane("outsider", d.Outsider, member: false, FuzzData.DoctorKey),
        ];

        private Lane PlanLane(string name, string userId, bool member, string usedKey)
        {
            List<WsInput> Batch(int size, int fragmentedPercent) =>
                Enumerable.Range(0, size).Select(_ => Fragment(BadFrame(name, member, usedKey), fragmentedPercent)).ToList();
            // Closing inputs between the batches, so every kind of batch also runs on a reconnected socket.
            var steps = new List<WsStep>
            {
                new("batch", Batch(BatchSize, 15)),
                new("image", Enumerable.Range(0, ImageBatchSize).Select(_ => Fragment(ImageFrame(name, userId, usedKey), 15)).ToList()),
                new("invalid UTF-8", [InvalidUtf8()]),
                new("oversized", [Oversized()]),
                new("batch", [.. Batch(BatchSize - 1, 15), ExactlyAtTheLimit(name)]),
                new("invalid UTF-8", [InvalidUtf8()]),
                new("flood", Batch(FloodSize, 0)),
                new("oversized", [Oversized()]),
                new("invalid UTF-8", [InvalidUtf8()]),
                new("fragmented", Batch(FragmentedBatchSize, 100)),
                new("invalid UTF-8", [InvalidUtf8()]),
                new("oversized", [Oversized()]),
                new("invalid UTF-8", [InvalidUtf8()]),
            };
            return new Lane(name, userId, steps);
        }

        private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

        private static WsInput Text(string family, string text, string code, string? echoedId = null) =>
            new(family, [Utf8(text)], WebSocketMessageType.Text, code, null, echoedId);

        private (List<(string Key, string Raw)> Properties, string? Id) SendFrame(string lane)
        {
            var id = g.Chance(80) ? $"ws-{lane}-{++_fresh}" : null;
            var properties = new List<(string Key, string Raw)>
            {
                ("type", "\"send_message\""), ("group_id", g.Lit(d.Group)), ("content", g.Lit("fuzz " + g.Prose(g.Between(1, 200)))),
            };
            if (id is not null) properties.Add(("client_msg_id", g.Lit(id)));
            return (g.Shuffled(properties), id);
        }

        private static readonly Field[] SendFields =
        [
            new("group_id", Kind.GroupRef, Limits.IdMax), new("content", Kind.Content, Limits.ContentMax),
            new("client_msg_id", Kind.ClientMsgId, Limits.ClientMsgIdMax),
        ];

        private static readonly string[] UnknownTypes =
        [
            "", " ", "PING", "Ping", "send-message", "sendMessage", "SEND_MESSAGE", "send_message ", " send_message", "send_message\0",
            "ping\u202E", "pong", "connected", "error", "message_sent", "ai_reply", "send_message\n", "ping\t", "ｐｉｎｇ", "ping\u200B",
            "sénd_message", "ping\u0301", "subscribe", "typing", "read",
        ];

        private WsInput BadFrame(string lane, bool member, string usedKey)
        {
            var (properties, id) = SendFrame(lane);
            switch (g.Next(100))
            {
                case < 40:
                {
                    var fault = g.FieldFault(g.Pick(SendFields), properties, webSocket: true);
                    var echoes = !fault.BreaksJson && fault.Field != "client_msg_id";
                    // Shape, lengths and the group's existence come before membership, so an outsider gets the same code.
                    return Text("send_message field", g.Render(properties), fault.Code, echoes ? id : null);
                }
                case < 47:
                    // A member reusing its own key for other content; an outsider is refused as a non-member before any key is looked at.
                    g.Set(properties, "client_msg_id", g.Lit(usedKey));
                    return Text(member ? "client_msg_id conflict" : "outsider's send", g.Render(properties),
                        member ? ErrorCodes.IdempotencyConflict : ErrorCodes.NotMember, usedKey);
                case < 55:
                    return Text("malformed JSON", g.Malformed(g.Chance(70) ? properties : [("type", "\"ping\"")]), ErrorCodes.InvalidFrame);
                case < 60:
                    return Text("not an object", g.NotAnObject(g.Chance(50) ? g.Render(properties) : "{\"type\":\"ping\"}"), ErrorCodes.InvalidFrame);
                case < 70:
                {
                    var (raw, what) = g.Next(4) switch
                    {
                        0 => ((string?)null, "no type"),
                        1 => ("null", "type null"),
                        2 => (g.WrongType(), "type not a string"),
                        _ => (g.Lit(g.Pick(["send_message", "ping", ""]) + g.LoneSurrogates()), "type a lone surrogate"),
                    };
                    if (raw is null) properties.RemoveAll(p => p.Key == "type");
                    else g.Set(properties, "type", raw);
                    return Text(what, g.Render(properties), ErrorCodes.InvalidFrame, id);
                }
                case < 80:
                {
                    var type = g.Chance(70) ? g.Pick(UnknownTypes) : g.Name(g.Between(1, 30));
                    if (type is FrameTypes.Ping or FrameTypes.SendMessage) type += "x";
                    g.Set(properties, "type", g.Lit(type));
                    return Text("unknown type", g.Render(properties), ErrorCodes.UnknownType, id);
                }
                case < 85:
                    return Text("duplicate property", g.WithDuplicate(g.Chance(80) ? properties : [("type", "\"ping\"")]), ErrorCodes.InvalidFrame);
                case < 93:
                {
                    var bytes = g.Chance(50) ? g.Bytes(g.Next(3000)) : Utf8(g.Chance(50) ? g.Render(properties) : "{\"type\":\"ping\"}");
                    return new WsInput("binary", [bytes], WebSocketMessageType.Binary, ErrorCodes.InvalidFrame, null, null);
                }
                case < 96:
                    return Text("empty or blank text", g.Pick(["", " ", "\n", "\t \r\n", "\u3000"]), ErrorCodes.InvalidFrame);
                default:
                    if (!member)
                        return Text("outsider's send", g.Render(properties), ErrorCodes.NotMember, id);
                    g.Set(properties, "group_id", g.Lit(g.UnknownId()));
                    return Text("unknown group", g.Render(properties), ErrorCodes.GroupNotFound, id);
            }
        }

        private WsInput ImageFrame(string lane, string userId, string usedKey)
        {
            var fault = _images.Make(userId, g.Chance(80) ? $"ws-{lane}-{++_fresh}" : null, usedKey, webSocket: true);
            g.Set(fault.Properties, "type", "\"send_message\"");
            return Text("IMAGE send_message", g.Render(fault.Properties), fault.Code, fault.EchoedId);
        }

        /// <summary>Splits a message into 2–6 fragments at random byte offsets, through multi-byte characters too.</summary>
        private WsInput Fragment(WsInput input, int percent)
        {
            var bytes = input.Pieces.Single();
            if (!g.Chance(percent) || bytes.Length < 2) return input;
            var cuts = Enumerable.Range(0, g.Between(1, Math.Min(5, bytes.Length - 1))).Select(_ => g.Between(1, bytes.Length - 1))
                .Distinct().Order().ToList();
            var pieces = new List<byte[]>();
            var start = 0;
            foreach (var cut in cuts.Append(bytes.Length))
            {
                pieces.Add(bytes[start..cut]);
                start = cut;
            }
            return input with { Pieces = [.. pieces] };
        }

        /// <summary>A frame of exactly 64 KiB is still read: its content is over 5000 characters, so 1002.</summary>
        private WsInput ExactlyAtTheLimit(string lane)
        {
            var id = $"ws-{lane}-{++_fresh}";
            var frame = $"{{\"type\":\"send_message\",\"group_id\":{g.Lit(d.Group)},\"client_msg_id\":\"{id}\",\"content\":" +
                        g.Lit("fuzz " + g.Name(Limits.ContentMax + g.Between(1, 300)), compact: true) + "}";
            return new WsInput("exactly 64 KiB", [g.Padded(frame, MaxFrameBytes)], WebSocketMessageType.Text, ErrorCodes.ContentTooLong, null, id);
        }

        private WsInput Oversized()
        {
            var size = MaxFrameBytes + 1 + (g.Chance(30) ? 0 : g.Next(40_000));
            var frame = $"{{\"type\":\"send_message\",\"group_id\":{g.Lit(d.Group)},\"content\":\"fuzz\"}}";
            // Random bytes go as binary: as text they would be closed 1007 for their UTF-8 before their size counts.
            var binary = g.Chance(30);
            var bytes = binary && g.Chance(50) ? g.Bytes(size) : g.Padded(frame, size);
            var type = binary ? WebSocketMessageType.Binary : WebSocketMessageType.Text;
            var pieces = g.Chance(50) ? bytes.Chunk(g.Between(4_000, 30_000)).ToArray() : [bytes];
            return new WsInput("over 64 KiB", pieces, type, null, WebSocketCloseStatus.MessageTooBig, null);
        }

        private WsInput InvalidUtf8()
        {
            var (properties, _) = SendFrame("utf8");
            if (!g.Chance(70)) return new WsInput("invalid UTF-8", [g.WithInvalidUtf8(properties)], WebSocketMessageType.Text, null,
                WebSocketCloseStatus.InvalidPayloadData, null);
            // Broken in the first fragment, with more to come: the client is still sending when the server
            // fails the connection, and must still hear its 1007 rather than a reset.
            var bytes = g.WithInvalidUtf8([("note", "\"\""), .. properties], first: true);
            var pieces = bytes.Chunk(Math.Max(1, bytes.Length / g.Between(3, 5))).ToArray();
            return new WsInput("invalid UTF-8", pieces, WebSocketMessageType.Text, null, WebSocketCloseStatus.InvalidPayloadData, null);
        }
    }

    // ---------------------------------------------------------------- generating

    private enum Kind
    {
        /// <summary>A required name: 1–max characters, not blank, no control or bidi override characters.</summary>
        Name,

        /// <summary>A required id: as a name, but a blank one is merely unknown.</summary>
        Id,

        /// <summary>An id that may be absent or null.</summary>
        OptionalId,

        /// <summary>Optional free text: tabs, line breaks and bidi formatting allowed.</summary>
        Prose,

        Role,

        /// <summary>A message's content: 1001 when missing or blank, 1002 when too long.</summary>
        Content,

        /// <summary>A message's group_id: 1003 when missing or empty, 3001 when unknown.</summary>
        GroupRef,

        ClientMsgId,
    }

    private sealed record Field(string Name, Kind Kind, int Max);

    /// <param name="BreaksJson">The fault makes the text not JSON at all (a raw control character inside a string).</param>
    private sealed record Fault(string Field, string Code, string What, bool BreaksJson);

    /// <summary>Every random choice, from one seeded Random, so the seed alone decides the inputs.</summary>
    private sealed class Gen(Random random)
    {
        // Replaced by invalid UTF-8 bytes after encoding: a private-use character no generator produces otherwise.
        private const string Marker = "\uE000";
        private static readonly byte[] MarkerBytes = Encoding.UTF8.GetBytes(Marker);

        private static readonly int[] Controls = [.. Enumerable.Range(0, 0x20), .. Enumerable.Range(0x7F, 0x21)];
        private static readonly string[] BidiOverrides = ["\u202A", "\u202B", "\u202C", "\u202D", "\u202E", "\u2066", "\u2067", "\u2068", "\u2069"];

        private static readonly string[] Whitespace =
            [" ", "\t", "\n", "\r", "\u3000", "\u00A0", "\u2003", "\u2028", "\u205F", "\u1680"];

        private static readonly string[] WrongTypes =
            ["0", "1", "-1", "3.14", "1e309", "true", "false", "[]", "{}", "[\"DOCTOR\"]", "{\"value\":\"x\"}", "[null]", "-0"];

        private static readonly string[] BadRoles =
        [
            "patient", "Doctor", "ADMIN", "", " DOCTOR", "DOCTOR ", "DOCTOR\u200B", "ＤＯＣＴＯＲ", "AI ASSISTANT", "AI_ASSISTANT\n",
            "PATIENT,DOCTOR", "0", "null", "DOCTOR\u202E", "ai_assistant", "DOCTOR\0", "DOCTОR", "NURSE",
        ];

        private static readonly byte[][] InvalidSequences =
        [
            [0xFF], [0xFE], [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF],
            [0xF4, 0x90, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0x80], [0xBF], [0xE4, 0xB8], [0xF0, 0x9F, 0x98], [0xC3],
            [0xC3, 0x28], [0xF5, 0x80, 0x80, 0x80],
        ];

        public int Next(int max) => random.Next(max);
        public int Between(int min, int max) => random.Next(min, max + 1);
        public bool Chance(int percent) => random.Next(100) < percent;
        public T Pick<T>(IReadOnlyList<T> items) => items[random.Next(items.Count)];

        public byte[] Bytes(int count)
        {
            var bytes = new byte[count];
            random.NextBytes(bytes);
            return bytes;
        }

        public List<T> Shuffled<T>(List<T> items) => items.OrderBy(_ => random.Next()).ToList();

        // ----- text

        /// <summary>One code point that every name and id accepts: no control, bidi override or whitespace.</summary>
        private string NameChar() => Next(12) switch
        {
            < 4 => ((char)Pick("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.".ToCharArray())).ToString(),
            4 or 5 => char.ConvertFromUtf32(0x4E00 + Next(0x5000)),
            6 => char.ConvertFromUtf32(0xAC00 + Next(0x2BA4)),
            7 => char.ConvertFromUtf32(0x1F600 + Next(0x50)),
            8 => char.ConvertFromUtf32(0x00C0 + Next(0x40)),
            9 => char.ConvertFromUtf32(0x0627 + Next(0x24)),
            10 => Pick(["\u0301", "\u200D", "\u200E", "\u200F", "·", "ー", "'", "\"", "\\", "/", ":", "%", "*", "?", "#", "&", "+"]),
            _ => char.ConvertFromUtf32(0x0391 + Next(0x19)),
        };

        /// <summary>A name of exactly <paramref name="codePoints"/> code points, starting with a letter.</summary>
        public string Name(int codePoints)
        {
            var text = new StringBuilder(codePoints * 2).Append((char)('a' + Next(26)));
            for (var i = 1; i < codePoints; i++) text.Append(NameChar());
            return text.ToString();
        }

        /// <summary>Free text of exactly <paramref name="codePoints"/> code points: tabs, line breaks and bidi formatting too.</summary>
        public string Prose(int codePoints)
        {
            var text = new StringBuilder(codePoints * 2).Append((char)('a' + Next(26)));
            for (var i = 1; i < codePoints; i++)
                text.Append(Chance(15) ? Pick([" ", " ", "\n", "\t", "\r", "\u202E", "\u2066", "\u2069", "\u200F", "\u3000"]) : NameChar());
            return text.ToString();
        }

        public string Ascii(int length) =>
            string.Concat(Enumerable.Range(0, length).Select(_ => (char)Pick("abcdefghijklmnopqrstuvwxyz0123456789".ToCharArray())));

        /// <summary>An id in a header: ASCII only, as HTTP headers carry it.</summary>
        public string AsciiId(int length) => "u" + Ascii(length - 1);

        public string AsciiUnknownId() =>
            Pick(["user_", "", "x:", "%", "*", "user_nobody_"]) + Ascii(Between(1, 20)) + Pick(["", ":groups", "%3A", "*", "[]"]);

        /// <summary>
        /// An id that names nothing, shaped like a real one or not: key separators, escapes, glob
        /// characters, any script. In a path a slash would stay escaped (Kestrel does not decode %2F)
        /// and change the id's length, so there it has none.
        /// </summary>
        public string UnknownId(bool inPath = false)
        {
            var id = Next(3) switch
            {
                0 => $"{Pick(["user_", "group_", "msg_"])}{20200101000000L + Next(1_000_000)}_{Ascii(8)}",
                1 => AsciiUnknownId(),
                _ => Name(Between(1, 30)),
            };
            return inPath ? id.Replace('/', '-').Replace('\\', '-') : id;
        }

        public string LoneSurrogates() =>
            Pick([((char)0xD800).ToString(), ((char)0xDBFF).ToString(), ((char)0xDC00).ToString(), ((char)0xDFFF).ToString(),
                new string([(char)0xDC00, (char)0xD800]), new string([(char)0xD800, (char)0xD800])]);

        public string WithLoneSurrogate() => (Chance(50) ? Ascii(Between(1, 8)) : "") + LoneSurrogates() + (Chance(50) ? Ascii(Between(1, 8)) : "");

        public string BidiText() => Name(Between(1, 10)) + Pick(BidiOverrides) + (Chance(50) ? Name(Between(1, 10)) : "");

        public string Blank(bool mayBeEmpty) =>
            mayBeEmpty && Chance(20) ? "" : string.Concat(Enumerable.Range(0, Between(1, 6)).Select(_ => Pick(Whitespace)));

        /// <summary>
        /// Text with one control character; <paramref name="raw"/> puts one below U+0020 into the JSON
        /// unescaped, which is not JSON at all.
        /// </summary>
        /// <param name="inPath">No NUL: Kestrel refuses %00 in a path before the app sees it (see <see cref="RestCase"/>).</param>
        public (string Text, string Raw, bool BreaksJson) ControlText(bool prose, bool raw, bool inPath = false)
        {
            var allowed = Controls.Where(c => !(prose && c is '\t' or '\n' or '\r') && !(inPath && c == 0)).ToList();
            var control = ((char)Pick(allowed)).ToString();
            var (before, after) = (Name(Between(1, 20)), Chance(50) ? Name(Between(1, 20)) : "");
            var breaks = raw && control[0] < ' ';
            return (before + control + after, breaks ? $"\"{Inner(before)}{control}{Inner(after)}\"" : Lit(before + control + after), breaks);
        }

        // ----- JSON

        /// <summary>
        /// A JSON string literal of <paramref name="text"/>, escaping some characters at random (both
        /// forms are JSON); lone surrogates can only be written as escapes. <paramref name="compact"/>
        /// writes characters raw, so long texts stay well under the body limit.
        /// </summary>
        public string Lit(string text, bool compact = false) => $"\"{Inner(text, compact)}\"";

        private string Inner(string text, bool compact = false)
        {
            var json = new StringBuilder(text.Length + 8);
            for (var i = 0; i < text.Length; i++)
            {
                var c = text[i];
                var pair = char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]);
                if (c == '"') json.Append("\\\"");
                else if (c == '\\') json.Append(Chance(80) ? "\\\\" : "\\u005c");
                else if (c < ' ' || (char.IsSurrogate(c) && !pair)) json.Append(Escape(c));
                else if (c > '~' && !compact && Chance(20))
                {
                    json.Append(Escape(c));
                    if (pair) json.Append(Escape(text[++i]));
                }
                else
                {
                    json.Append(c);
                    if (pair) json.Append(text[++i]);
                }
            }
            return json.ToString();
        }

        private string Escape(char c) => c switch
        {
            '\n' when Chance(50) => "\\n",
            '\t' when Chance(50) => "\\t",
            '\r' when Chance(50) => "\\r",
            _ => Chance(50) ? $"\\u{(int)c:x4}" : $"\\u{(int)c:X4}",
        };

        public string WrongType() => Pick(WrongTypes);

        /// <summary>An object, with valid whitespace between tokens now and then.</summary>
        public string Render(IEnumerable<(string Key, string Raw)> properties, bool spaced = true)
        {
            string Space() => spaced && Chance(10) ? Pick([" ", "\n", "\t", "\r\n", "  "]) : "";
            return "{" + Space() + string.Join("," + Space(), properties.Select(p => $"\"{p.Key}\"{Space()}:{Space()}{p.Raw}")) + Space() + "}";
        }

        public void Set(List<(string Key, string Raw)> properties, string key, string? raw)
        {
            var at = properties.FindIndex(p => p.Key == key);
            if (raw is null)
            {
                if (at >= 0) properties.RemoveAt(at);
            }
            else if (at >= 0) properties[at] = (key, raw);
            else properties.Insert(Next(properties.Count + 1), (key, raw));
        }

        /// <summary>Breaks one field of <paramref name="properties"/> in place and says what the service must answer.</summary>
        public Fault FieldFault(Field field, List<(string Key, string Raw)> properties, bool webSocket)
        {
            var invalid = ErrorCodes.InvalidParameter;
            var missing = field.Kind switch
            {
                Kind.Content => ErrorCodes.ContentEmpty,
                Kind.GroupRef => ErrorCodes.GroupIdEmpty,
                Kind.Name or Kind.Id or Kind.Role => invalid,
                _ => null,
            };
            var options = new List<Func<(string? Raw, string Code, string What, bool Breaks)>>
            {
                () => (WrongType(), invalid, "wrong type", false),
                () => (Lit(WithLoneSurrogate()), invalid, "lone surrogate", false),
                () =>
                {
                    var (_, raw, breaks) = ControlText(field.Kind is Kind.Prose or Kind.Content, raw: Chance(30));
                    // A raw control character is not JSON: over REST that is 400 INVALID_PARAMETER too, over WebSocket INVALID_FRAME.
                    return (raw, breaks && webSocket ? ErrorCodes.InvalidFrame : invalid, breaks ? "raw control character" : "control character", breaks);
                },
            };
            if (missing is not null)
            {
                options.Add(() => (null, missing, "missing", false));
                options.Add(() => ("null", missing, "null", false));
            }
            switch (field.Kind)
            {
                case Kind.Role:
                    options.Add(() => (Lit(Pick(BadRoles)), invalid, "not a role", false));
                    options.Add(() => (Lit(Pick(UserRoles.All) + LoneSurrogates()), invalid, "role with a lone surrogate", false));
                    break;
                case Kind.Content:
                    options.Add(() => (Lit(Blank(mayBeEmpty: true)), ErrorCodes.ContentEmpty, "blank", false));
                    options.Add(() => (Lit(Prose(field.Max + Between(1, 600)), compact: true), ErrorCodes.ContentTooLong, "too long", false));
                    break;
                case Kind.Prose:
                    options.Add(() => (Lit(Prose(field.Max + Between(1, 200)), compact: true), invalid, "too long", false));
                    break;
                default:
                    var tooLong = Name(field.Max + Between(1, 60));
                    options.Add(() => (Lit(tooLong, compact: true), invalid, "too long", false));
                    options.Add(() => ("\"\"", field.Kind == Kind.GroupRef ? ErrorCodes.GroupIdEmpty : invalid, "empty", false));
                    options.Add(() => (Lit(BidiText()), invalid, "bidi override", false));
                    if (field.Kind == Kind.Name) options.Add(() => (Lit(Blank(mayBeEmpty: false)), invalid, "blank", false));
                    if (field.Kind == Kind.GroupRef) options.Add(() => (Lit(UnknownId()), ErrorCodes.GroupNotFound, "unknown", false));
                    break;
            }
            var (value, code, what, breaksJson) = Pick(options)();
            Set(properties, field.Name, value);
            return new Fault(field.Name, code, $"{field.Name} {what}", breaksJson);
        }

        public string Malformed(List<(string Key, string Raw)> properties)
        {
            var json = Render(properties);
            var at = Next(properties.Count);
            var edited = properties.ToList();
            switch (Next(11))
            {
                case 0:
                    return json[..Next(json.Length)];
                case 1:
                    return json + Pick(["x", "}", "]", ",", "{}", "[]", "1", "\"x\"", "null", "/", "#", ";", "\0", "}{", ",{}", "\u00A0"]);
                case 2:
                    return Pick(["x", ",", "]", "'", "\0", "\u00A0", "\uFEFF\uFEFF"]) + json;
                case 3:
                    edited[at] = (edited[at].Key, Pick(["NaN", "Infinity", "-Infinity", "undefined", "None", "nil", "True", "FALSE", "Null"]));
                    return Render(edited);
                case 4:
                    edited[at] = (edited[at].Key, Pick(["1x", "01", "1.", ".5", "+1", "0x1F", "1e", "--1", "1_000", "1.2.3", "١", "- 1", "00", "1e+", "0.", "-"]));
                    return Render(edited);
                case 5:
                    return Chance(50) ? "{/* fuzz */" + json[1..] : json[..^1] + "// fuzz\n}";
                case 6:
                    return json[..^1] + ",}";
                // Rendered without spaces, so the name is certainly followed by its colon and the edit certainly happens.
                case 7:
                    return Render(edited, spaced: false).Replace($"\"{edited[at].Key}\":", $"'{edited[at].Key}':", StringComparison.Ordinal);
                case 8:
                    return Render(edited, spaced: false).Replace($"\"{edited[at].Key}\":", $"{edited[at].Key}:", StringComparison.Ordinal);
                case 9:
                    return Render(edited, spaced: false).Replace($"\"{edited[at].Key}\":", $"\"{edited[at].Key}\" ", StringComparison.Ordinal);
                default:
                    return Pick(["", " ", "\n", "{", "}", "[", "{\"", "nul", "tru", "\"", "{\"type\"}", "{,}", "{:}", "[}", "{]"]);
            }
        }

        public string NotAnObject(string json) =>
            Pick(["[]", $"[{json}]", Lit(json), "1", "-0", "null", "true", "false", "\"{}\"", "[null]", "1e3", "\"send_message\""]);

        /// <summary>Repeats a property, verbatim or with its name written with an escape, with the same or another value.</summary>
        public string WithDuplicate(List<(string Key, string Raw)> properties)
        {
            var (key, raw) = Pick(properties);
            var at = Next(key.Length);
            var name = Chance(30) ? key[..at] + $"\\u{(int)key[at]:x4}" + key[(at + 1)..] : key;
            var copy = (name, Chance(50) ? raw : Lit(Name(Between(1, 10))));
            var edited = properties.ToList();
            edited.Insert(Next(edited.Count + 1), copy);
            return Render(edited);
        }

        /// <summary>
        /// Puts an invalid UTF-8 sequence inside a string: a value, an unknown property's value, or a
        /// name; with <paramref name="first"/>, inside the first property's value.
        /// </summary>
        public byte[] WithInvalidUtf8(List<(string Key, string Raw)> properties, bool first = false)
        {
            var edited = properties.ToList();
            switch (first ? 0 : Next(3))
            {
                case 0:
                    var strings = edited.Select((p, i) => (p.Raw, i)).Where(p => p.Raw.StartsWith('"')).Select(p => p.i).ToList();
                    if (strings.Count == 0) goto default;
                    var at = first ? strings[0] : Pick(strings);
                    var raw = edited[at].Raw;
                    var cut = Between(1, raw.Length - 1);
                    edited[at] = (edited[at].Key, raw[..cut] + Marker + raw[cut..]);
                    break;
                case 1:
                    edited.Insert(Next(edited.Count + 1), ($"note{Marker}", "1"));
                    break;
                default:
                    edited.Insert(Next(edited.Count + 1), ("note", $"\"{Marker}\""));
                    break;
            }
            var bytes = Encoding.UTF8.GetBytes(Render(edited));
            var markerAt = bytes.AsSpan().IndexOf(MarkerBytes);
            return [.. bytes[..markerAt], .. Pick(InvalidSequences), .. bytes[(markerAt + MarkerBytes.Length)..]];
        }

        /// <summary>The JSON with spaces before its closing brace, to exactly <paramref name="size"/> bytes.</summary>
        public byte[] Padded(string json, int size)
        {
            var bytes = Encoding.UTF8.GetBytes(json);
            if (bytes.Length > size) throw new InvalidOperationException($"{bytes.Length} bytes do not fit in {size}");
            return [.. bytes[..^1], .. Enumerable.Repeat((byte)' ', size - bytes.Length), (byte)'}'];
        }
    }

    /// <summary>Valid images, built once, and where their headers are, so that faults land where they mean to.</summary>
    private static class Pictures
    {
        public static readonly byte[] Jpeg = TestImages.Jpeg();
        public static readonly byte[] BigJpeg = TestImages.Jpeg(640, 480);
        public static readonly byte[] Png = TestImages.Png();
        public static readonly byte[] Webp = TestImages.Webp();
        public static readonly byte[] Gif = TestImages.Gif();
        public static readonly byte[][] Valid = [Jpeg, BigJpeg, Png, Webp, Gif];

        /// <summary>Real images in formats the decoder library knows and the service does not take.</summary>
        public static readonly byte[][] OtherFormats =
            [Encode(new BmpEncoder()), Encode(new TiffEncoder()), Encode(new TgaEncoder()), Encode(new PbmEncoder())];

        /// <summary>The JPEG's baseline frame header (SOF0): its height and width follow at +5 and +7.</summary>
        public static readonly int JpegFrame = Jpeg.AsSpan().IndexOf([(byte)0xFF, (byte)0xC0]);

        /// <summary>Where the PNG's IDAT and IEND chunks start.</summary>
        public static readonly int PngIdat = Png.AsSpan().IndexOf("IDAT"u8) - 4;
        public static readonly int PngEnd = Png.AsSpan().IndexOf("IEND"u8) - 4;

        /// <summary>The first block after the GIF's header and global colour table: before it there is no image.</summary>
        public static readonly int GifFirstBlock = 13 + ((Gif[10] & 0x80) == 0 ? 0 : 3 << ((Gif[10] & 0x07) + 1));

        /// <summary>The WebP's extended header (flags at +8) and its VP8 frame (width and height at +14 and +16).</summary>
        public static readonly int Vp8x = Webp.AsSpan().IndexOf("VP8X"u8);
        public static readonly int Vp8 = Webp.AsSpan().IndexOf("VP8 "u8);

        // 256 MB of zeros, deflated: about 260 KB.
        private static readonly Lazy<byte[]> InflatesTo256MB = new(() =>
        {
            using var compressed = new MemoryStream();
            using (var zlib = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
            {
                var zeros = new byte[1024 * 1024];
                for (var i = 0; i < 256; i++) zlib.Write(zeros);
            }
            return compressed.ToArray();
        });

        /// <summary>
        /// The PNG with 256 MB of text right after its header, compressed in a zTXt or an iTXt chunk:
        /// a bomb in the metadata, which the pixel count does not see.
        /// </summary>
        public static byte[] TextBomb(bool international)
        {
            byte[] text = international
                ? [.. "Comment"u8, 0, 1, 0, 0, 0, .. InflatesTo256MB.Value]
                : [.. "Comment"u8, 0, 0, .. InflatesTo256MB.Value];
            var chunk = new byte[12 + text.Length];
            BinaryPrimitives.WriteInt32BigEndian(chunk, text.Length);
            (international ? "iTXt"u8 : "zTXt"u8).CopyTo(chunk.AsSpan(4));
            text.CopyTo(chunk.AsSpan(8));
            BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + text.Length), Crc32.HashToUInt32(chunk.AsSpan(4, 4 + text.Length)));
            const int AfterHeader = 33;
            return [.. Png[..AfterHeader], .. chunk, .. Png[AfterHeader..]];
        }

        /// <summary>Where the JPEG's entropy-coded data begins (SOS): cut before it, nothing decodes.</summary>
        public static int ScanStart(byte[] jpeg) => jpeg.AsSpan().IndexOf([(byte)0xFF, (byte)0xDA]);

        private static byte[] Encode(IImageEncoder encoder)
        {
            using var image = new Image<Rgba32>(16, 12);
            using var output = new MemoryStream();
            image.Save(output, encoder);
            return output.ToArray();
        }
    }

    /// <summary>
    /// IMAGE sends, over REST and WebSocket alike: the group's own image sent by a member, with one
    /// fault, and what its sender must get. Shape comes before membership, membership before the
    /// image is looked up, so an outsider gets 2003 where a member learns the image is not the group's.
    /// </summary>
    private sealed class ImageSends(Gen g, FuzzData d)
    {
        /// <param name="EchoedId">The valid client_msg_id the frame carries, which its error frame must echo.</param>
        public sealed record Fault(List<(string Key, string Raw)> Properties, string Code, string What, string? EchoedId);

        private static readonly Field[] Fields =
        [
            new("group_id", Kind.GroupRef, Limits.IdMax), new("content", Kind.Content, Limits.ContentMax),
            new("client_msg_id", Kind.ClientMsgId, Limits.ClientMsgIdMax),
        ];

        private static readonly string[] BadTypes =
        [
            "image", "Image", "IMAGE ", " IMAGE", "IMAGE\u200B", "ＩＭＡＧＥ", "IMAGЕ", "IMAGE\u202E", "IMAGES", "IMG", "PHOTO", "text", "TEXT ",
            "", " ", "VIDEO", "FILE", "AUDIO", MessageTypes.AiReply, "SYSTEM", "IMAGE,TEXT", "TEXT|IMAGE", "image/jpeg", "1", "IMAGE\0",
        ];

        public Fault Make(string sender, string? clientMsgId, string usedKey, bool webSocket)
        {
            var member = sender == d.Doctor || sender == d.Patient;
            var properties = new List<(string Key, string Raw)>
            {
                ("group_id", g.Lit(d.Group)), ("content", g.Lit(d.Media)), ("msg_type", g.Lit(MessageTypes.Image)),
            };
            if (clientMsgId is not null) properties.Add(("client_msg_id", g.Lit(clientMsgId)));
            properties = g.Shuffled(properties);
            var invalid = ErrorCodes.InvalidParameter;
            var notMember = ErrorCodes.NotMember;
            Fault Done(string code, string what, string? echoed = null) => new(properties, code, what, echoed ?? clientMsgId);
            switch (g.Next(100))
            {
                case < 25:
                {
                    var fault = g.FieldFault(g.Pick(Fields), properties, webSocket);
                    var echoes = !fault.BreaksJson && fault.Field != "client_msg_id";
                    return new(properties, fault.Code, fault.What, echoes ? clientMsgId : null);
                }
                case < 40:
                {
                    // TEXT content too, not only the image's id: msg_type is wrong whatever it types.
                    if (g.Chance(40)) g.Set(properties, "content", g.Lit("fuzz " + g.Prose(g.Between(1, 200))));
                    string raw, what;
                    var breaks = false;
                    switch (g.Next(5))
                    {
                        case 0:
                            (raw, what) = (g.WrongType(), "msg_type not a string");
                            break;
                        case 1:
                            (raw, what) = (g.Lit(g.Pick([MessageTypes.Image, MessageTypes.Text]) + g.LoneSurrogates()), "msg_type a lone surrogate");
                            break;
                        case 2:
                            (_, raw, breaks) = g.ControlText(prose: false, raw: g.Chance(30));
                            what = "msg_type a control character";
                            break;
                        default:
                            (raw, what) = (g.Lit(g.Pick(BadTypes)), "msg_type unknown");
                            break;
                    }
                    g.Set(properties, "msg_type", raw);
                    return breaks ? new(properties, webSocket ? ErrorCodes.InvalidFrame : invalid, what, null) : Done(invalid, what);
                }
                case < 55:
                {
                    // An IMAGE's content is an id: what a message may hold and an id may not.
                    var content = g.Next(4) switch
                    {
                        0 => g.Name(Limits.IdMax + g.Between(1, 400)),
                        1 => g.Chance(50) ? d.Media + g.Pick(["\n", "\t", "\r\n", "\r"]) : g.Pick(["\n", "\t", "\r"]) + d.Media,
                        2 => d.Media[..g.Between(0, 10)] + g.Pick(["\u202E", "\u2066", "\u202A", "\u2069"]) + d.Media[10..],
                        _ => "fuzz " + g.Prose(g.Between(Limits.IdMax, 600)),
                    };
                    g.Set(properties, "content", g.Lit(content, compact: true));
                    return Done(invalid, "content not an id");
                }
                case < 75:
                {
                    var notTheGroups = g.Chance(25) ? g.UnknownId() : g.Pick([.. MediaFuzz.NearMisses(d), d.OtherMedia, MediaInfo.UrlOf(d.Media)]);
                    g.Set(properties, "content", g.Lit(notTheGroups));
                    return Done(member ? invalid : notMember, "content not the group's image");
                }
                case < 85:
                    g.Set(properties, "group_id", g.Lit(d.OtherGroup));
                    if (member)
                    {
                        g.Set(properties, "content", g.Lit(g.Pick([d.Media, d.OtherMedia])));
                        return Done(notMember, "to a group not the sender's");
                    }
                    // The outsider's own group, with the other group's image: never the outsider's own image, which is valid there.
                    g.Set(properties, "content", g.Lit(g.Pick([d.Media, .. MediaFuzz.NearMisses(d)])));
                    return Done(invalid, "the image of another group");
                case < 90:
                    g.Set(properties, "group_id", g.Lit(g.UnknownId()));
                    return Done(ErrorCodes.GroupNotFound, "to an unknown group");
                default:
                    // The image is the group's and the sender a member: only the used key is wrong.
                    g.Set(properties, "client_msg_id", g.Lit(usedKey));
                    return Done(member ? ErrorCodes.IdempotencyConflict : notMember, "a used client_msg_id", usedKey);
            }
        }
    }

    // ---------------------------------------------------------------- the host, its data and its store

    /// <summary>The documented status of each error code (README's table).</summary>
    private static int StatusOf(string code) => code switch
    {
        ErrorCodes.UserNotFound or ErrorCodes.NotMember or ErrorCodes.GroupNotFound or ErrorCodes.MessageNotFound or ErrorCodes.MediaNotFound
            or ErrorCodes.NotFound => 404,
        ErrorCodes.Unauthorized => 401,
        ErrorCodes.Forbidden => 403,
        ErrorCodes.MethodNotAllowed => 405,
        ErrorCodes.IdempotencyConflict => 409,
        ErrorCodes.PayloadTooLarge => 413,
        ErrorCodes.UnsupportedMediaType => 415,
        ErrorCodes.RateLimited => 429,
        _ => 400,
    };

    private static string Esc(string id) => Uri.EscapeDataString(id);

    /// <summary>The valid data the fuzz aims at, so the checks behind validation run too.</summary>
    /// <param name="Media">An image the doctor uploaded to <paramref name="Group"/>.</param>
    /// <param name="OtherGroup">The outsider's own group: the outsider is a member there, the doctor and the patient are not.</param>
    /// <param name="OtherMedia">An image the outsider uploaded to <paramref name="OtherGroup"/>: it exists, but not in <paramref name="Group"/>.</param>
    public sealed record FuzzData(
        string Doctor, string Patient, string Outsider, string Group, string DoctorMessage, string Media, string OtherGroup, string OtherMedia)
    {
        public const string DoctorKey = "setup-doctor-1";
        public const string PatientKey = "setup-patient-1";
    }

    /// <summary>A host on its own redis-server; each spec makes its own consultation in it, so one spec's damage does not blur the other's.</summary>
    public sealed class FuzzHost : IAsyncLifetime
    {
        private const string KeyPrefix = "fuzz:";

        private RedisServer _redis = null!;
        private ConnectionMultiplexer _store = null!;

        public HostProcess Host { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            _redis = await RedisServer.Start();
            Host = await HostProcess.Start(new Dictionary<string, string>
            {
                ["ConnectionStrings__Redis"] = _redis.ConnectionString,
                ["Redis__KeyPrefix"] = KeyPrefix,
            });
            _store = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString + ",allowAdmin=true");
        }

        /// <summary>
        /// A doctor and a patient in a group with a message from each (and the AI's reply) and an image,
        /// and an outsider with a group and an image of its own.
        /// </summary>
        public async Task<FuzzData> NewConsultation()
        {
            var api = Host.Api;
            var (doctor, patient, group) = await api.CreateConsultation();
            var outsider = await api.CreateUser(UserRoles.Patient, "旁观者");
            var (status, sent) = await api.Post("/api/message/send",
                new { group_id = group.GroupId, content = "医生的第一条消息", client_msg_id = FuzzData.DoctorKey }, doctor.UserId);
            Assert.True(status == HttpStatusCode.OK, $"setup send: {(int)status} {sent?.ToJsonString()}");
            (status, var asked) = await api.Post("/api/message/send",
                new { group_id = group.GroupId, content = "患者的问题", client_msg_id = FuzzData.PatientKey }, patient.UserId);
            Assert.True(status == HttpStatusCode.OK, $"setup send: {(int)status} {asked?.ToJsonString()}");
            // The AI's reply is stored asynchronously: the "before" snapshot waits for it.
            await Eventually.True(async () =>
                    (await api.ListAiInteractions(group.GroupId)).Records is [{ Status: AiRecordStatus.Succeeded }]
                    && (await api.ListMessages(group.GroupId)).Total == 3,
                TimeSpan.FromSeconds(30), "the AI reply to the patient's setup message");
            var media = await Upload(group.GroupId, doctor.UserId, TestImages.Jpeg(), "image/jpeg");
            var otherGroup = await api.CreateGroup(outsider.UserId, "旁观者的群");
            var otherMedia = await Upload(otherGroup.GroupId, outsider.UserId, TestImages.Png(), "image/png");
            return new FuzzData(doctor.UserId, patient.UserId, outsider.UserId, group.GroupId, (string)sent!["message_id"]!, media,
                otherGroup.GroupId, otherMedia);
        }

        private async Task<string> Upload(string groupId, string uploaderId, byte[] image, string contentType)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/media?group_id={Esc(groupId)}");
            request.Headers.Add("X-User-Id", uploaderId);
            request.Content = new ByteArrayContent(image);
            request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            using var response = await Host.Http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"setup upload: {(int)response.StatusCode} {text}");
            return (string)JsonNode.Parse(text)!["media_id"]!;
        }

        /// <summary>
        /// Every key with its full content. Left out: the split-brain resolver's lease, which holds a
        /// node address with a time-to-live and is taken and released as the cluster decides, not
        /// by requests, and the connection registry (the nodes' heartbeats and who is connected where), which
        /// moves with sockets opening and closing and every few seconds, a moment after them; and the id
        /// counters, which a writer draws from a block at a time: a refused send may use up an id of its
        /// block (a gap, which the ids may have) and so move the counter, storing nothing. Time-to-lives are
        /// not compared either (the idempotency keys' count down).
        /// </summary>
        public async Task<SortedDictionary<string, string>> Snapshot()
        {
            var db = _store.GetDatabase();
            var server = _store.GetServer(_store.GetEndPoints()[0]);
            var keys = new SortedDictionary<string, string>(StringComparer.Ordinal);
            await foreach (var key in server.KeysAsync(pattern: "*", pageSize: 1000))
            {
                var name = key.ToString();
                if (name.StartsWith(KeyPrefix + "lease:", StringComparison.Ordinal)) continue;
                if (name == KeyPrefix + "nodes" || name.EndsWith(":connections", StringComparison.Ordinal)) continue;
                if (name.StartsWith(KeyPrefix + "counter:", StringComparison.Ordinal)) continue;
                keys[name] = await db.KeyTypeAsync(key) switch
                {
                    RedisType.String => $"string {await db.StringGetAsync(key)}",
                    RedisType.Hash => "hash " + string.Join(", ", (await db.HashGetAllAsync(key)).Select(e => $"{e.Name}={e.Value}").Order(StringComparer.Ordinal)),
                    RedisType.Set => "set " + string.Join(", ", (await db.SetMembersAsync(key)).Select(m => m.ToString()).Order(StringComparer.Ordinal)),
                    RedisType.SortedSet => "zset " + string.Join(", ", (await db.SortedSetRangeByRankWithScoresAsync(key)).Select(e => $"{e.Element}@{e.Score}")),
                    RedisType.List => "list " + string.Join(", ", await db.ListRangeAsync(key)),
                    var other => other.ToString(),
                };
            }
            return keys;
        }

        /// <summary>Whatever says the host did not take the fuzz well: not live any more, or an error-level log line.</summary>
        public async Task<List<string>> HostProblems()
        {
            var problems = new List<string>();
            try
            {
                using var live = await Host.Http.GetAsync("/health/live");
                if (live.StatusCode != HttpStatusCode.OK) problems.Add($"/health/live answered {(int)live.StatusCode}");
            }
            catch (HttpRequestException ex)
            {
                problems.Add($"the host is down: {ex.Message}");
            }
            var lines = Host.Output.Split('\n');
            for (var i = 0; i < lines.Length; i++)
            {
                if (lines[i].StartsWith("fail:", StringComparison.Ordinal) || lines[i].StartsWith("crit:", StringComparison.Ordinal))
                    problems.Add("error log line: " + string.Join(" | ", lines.Skip(i).Take(4).Select(l => Clip(l, 300))));
            }
            return problems;
        }

        public async Task DisposeAsync()
        {
            if (_store is not null) await _store.DisposeAsync();
            if (Host is not null) await Host.DisposeAsync();
            if (_redis is not null) await _redis.DisposeAsync();
        }
    }

    private static IEnumerable<string> StoreDifferences(SortedDictionary<string, string> before, SortedDictionary<string, string> after)
    {
        foreach (var (key, value) in after)
        {
            if (!before.TryGetValue(key, out var old)) yield return $"stored by a refused input: {key} = {Clip(value, 300)}";
            else if (old != value) yield return $"changed by a refused input: {key}\n    before {Clip(old, 300)}\n    after  {Clip(value, 300)}";
        }
        foreach (var key in before.Keys.Where(k => !after.ContainsKey(k))) yield return $"deleted by a refused input: {key}";
    }

    /// <summary>What was expected and not received (−) and received and not expected (+), by code.</summary>
    private static string Diff(IEnumerable<string> expected, IEnumerable<string> actual)
    {
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var code in expected) counts[code] = counts.GetValueOrDefault(code) - 1;
        foreach (var code in actual) counts[code] = counts.GetValueOrDefault(code) + 1;
        return string.Join(", ", counts.Where(c => c.Value != 0).Select(c => $"{(c.Value > 0 ? "+" : "")}{c.Value} {c.Key}"));
    }

    private static string Clip(string text, int max) => text.Length <= max ? text : text[..max] + $"…(+{text.Length - max} chars)";

    /// <summary>Bytes as printable ASCII and \xNN escapes, so a failing input can be read and rebuilt exactly.</summary>
    private static string Preview(byte[] bytes, int max = 240)
    {
        var text = new StringBuilder();
        foreach (var b in bytes.Take(max)) text.Append(b is >= 0x20 and < 0x7F ? ((char)b).ToString() : $"\\x{b:X2}");
        return bytes.Length <= max ? text.ToString() : $"{text}…(+{bytes.Length - max} bytes)";
    }
}
