using System.Net;
using System.Text.Json.Nodes;
using Im.Contracts;

namespace Im.Host.Tests;

/// <summary>DESIGN.md's error table, row by row, over real HTTP: status, code and the error body's shape.</summary>
public sealed class ErrorTableSpecs(HostFixture fixture) : IClassFixture<HostFixture>
{
    private const string Json = "application/json";
    private static readonly string LongName = new('名', 65);
    private static readonly string Content5001 = string.Concat(Enumerable.Repeat("😀", 5001));

    public static TheoryData<string, string, string, string?, string?, int, string> Rows() => new()
    {
        // name, method, path, body, caller, status, code
        { "malformed JSON", "POST", "/api/user/create", "{\"username\":", null, 400, ErrorCodes.InvalidParameter },
        { "body not an object", "POST", "/api/user/create", "[1,2]", null, 400, ErrorCodes.InvalidParameter },
        { "wrong type", "POST", "/api/user/create", "{\"username\":123,\"user_role\":\"PATIENT\"}", null, 400, ErrorCodes.InvalidParameter },
        { "missing field", "POST", "/api/user/create", "{\"username\":\"a\"}", null, 400, ErrorCodes.InvalidParameter },
        { "username too long", "POST", "/api/user/create", $"{{\"username\":\"{LongName}\",\"user_role\":\"PATIENT\"}}", null, 400, ErrorCodes.InvalidParameter },
        { "empty username", "POST", "/api/user/create", "{\"username\":\"\",\"user_role\":\"PATIENT\"}", null, 400, ErrorCodes.InvalidParameter },
        { "lowercase role", "POST", "/api/user/create", "{\"username\":\"a\",\"user_role\":\"patient\"}", null, 400, ErrorCodes.InvalidParameter },
        { "numeric role", "POST", "/api/user/create", "{\"username\":\"a\",\"user_role\":0}", null, 400, ErrorCodes.InvalidParameter },
        { "bad role on update", "PUT", "/api/user/{doctor}/role", "{\"user_role\":\"NURSE\"}", null, 400, ErrorCodes.InvalidParameter },
        { "group name too long", "POST", "/api/group/create", $"{{\"group_name\":\"{new string('g', 129)}\"}}", "{doctor}", 400, ErrorCodes.InvalidParameter },
        { "member user_id too long", "POST", "/api/group/{group}/members", $"{{\"user_id\":\"{new string('u', 49)}\",\"user_role\":\"PATIENT\"}}", null, 400, ErrorCodes.InvalidParameter },
        { "page zero", "GET", "/api/message/list?group_id={group}&page=0", null, null, 400, ErrorCodes.InvalidParameter },
        { "page not a number", "GET", "/api/message/list?group_id={group}&page=abc", null, null, 400, ErrorCodes.InvalidParameter },
        { "page_size too big", "GET", "/api/message/list?group_id={group}&page_size=101", null, null, 400, ErrorCodes.InvalidParameter },
        { "page_size zero", "GET", "/api/ai/interactions?group_id={group}&page_size=0", null, null, 400, ErrorCodes.InvalidParameter },
        { "after_seq negative", "GET", "/api/message/list?group_id={group}&after_seq=-1", null, null, 400, ErrorCodes.InvalidParameter },
        { "after_seq not a number", "GET", "/api/message/list?group_id={group}&after_seq=x", null, null, 400, ErrorCodes.InvalidParameter },
        { "content missing", "POST", "/api/message/send", "{\"group_id\":\"{group}\"}", "{doctor}", 400, ErrorCodes.ContentEmpty },
        { "content empty", "POST", "/api/message/send", "{\"group_id\":\"{group}\",\"content\":\"\"}", "{doctor}", 400, ErrorCodes.ContentEmpty },
        { "content whitespace", "POST", "/api/message/send", "{\"group_id\":\"{group}\",\"content\":\" \\n\\t \"}", "{doctor}", 400, ErrorCodes.ContentEmpty },
        { "content too long", "POST", "/api/message/send", $"{{\"group_id\":\"{{group}}\",\"content\":\"{Content5001}\"}}", "{doctor}", 400, ErrorCodes.ContentTooLong },
        { "content wrong type", "POST", "/api/message/send", "{\"group_id\":\"{group}\",\"content\":5}", "{doctor}", 400, ErrorCodes.InvalidParameter },
        { "group_id missing on send", "POST", "/api/message/send", "{\"content\":\"hi\"}", "{doctor}", 400, ErrorCodes.GroupIdEmpty },
        { "group_id empty on send", "POST", "/api/message/send", "{\"group_id\":\"\",\"content\":\"hi\"}", "{doctor}", 400, ErrorCodes.GroupIdEmpty },
        { "group_id missing on list", "GET", "/api/message/list", null, null, 400, ErrorCodes.GroupIdEmpty },
        { "group_id empty on list", "GET", "/api/message/list?group_id=", null, null, 400, ErrorCodes.GroupIdEmpty },
        { "group_id too long on list", "GET", $"/api/message/list?group_id={new string('g', 65)}", null, null, 400, ErrorCodes.InvalidParameter },
        { "caller missing on send", "POST", "/api/message/send", "{\"group_id\":\"{group}\",\"content\":\"hi\"}", null, 401, ErrorCodes.Unauthorized },
        { "caller missing before bad body", "POST", "/api/message/send", "{\"content\":\"\"}", null, 401, ErrorCodes.Unauthorized },
        { "caller missing on group create", "POST", "/api/group/create", "{\"group_name\":\"g\"}", null, 401, ErrorCodes.Unauthorized },
        { "user unknown on get", "GET", "/api/user/user_20250101000000_nobody00", null, null, 404, ErrorCodes.UserNotFound },
        { "user unknown on role update", "PUT", "/api/user/user_20250101000000_nobody00/role", "{\"user_role\":\"DOCTOR\"}", null, 404, ErrorCodes.UserNotFound },
        { "user unknown on add member", "POST", "/api/group/{group}/members", "{\"user_id\":\"nobody\",\"user_role\":\"PATIENT\"}", null, 404, ErrorCodes.UserNotFound },
        { "caller unknown on send", "POST", "/api/message/send", "{\"group_id\":\"{group}\",\"content\":\"hi\"}", "nobody", 404, ErrorCodes.UserNotFound },
        { "creator unknown", "POST", "/api/group/create", "{\"group_name\":\"g\"}", "nobody", 404, ErrorCodes.UserNotFound },
        { "already in group", "POST", "/api/group/{group}/members", "{\"user_id\":\"{patient}\",\"user_role\":\"PATIENT\"}", null, 400, ErrorCodes.AlreadyMember },
        { "sender not a member", "POST", "/api/message/send", "{\"group_id\":\"{group}\",\"content\":\"hi\"}", "{outsider}", 404, ErrorCodes.NotMember },
        { "group unknown on get", "GET", "/api/group/group_20250101000000_nogroup0", null, null, 404, ErrorCodes.GroupNotFound },
        { "group unknown on members", "GET", "/api/group/group_x/members", null, null, 404, ErrorCodes.GroupNotFound },
        { "group unknown on add member", "POST", "/api/group/group_x/members", "{\"user_id\":\"{patient}\",\"user_role\":\"PATIENT\"}", null, 404, ErrorCodes.GroupNotFound },
        { "group checked before user", "POST", "/api/group/group_x/members", "{\"user_id\":\"nobody\",\"user_role\":\"PATIENT\"}", null, 404, ErrorCodes.GroupNotFound },
        { "group unknown on send", "POST", "/api/message/send", "{\"group_id\":\"group_x\",\"content\":\"hi\"}", "{doctor}", 404, ErrorCodes.GroupNotFound },
        { "group checked before caller", "POST", "/api/message/send", "{\"group_id\":\"group_x\",\"content\":\"hi\"}", "nobody", 404, ErrorCodes.GroupNotFound },
        { "group unknown on list", "GET", "/api/message/list?group_id=group_x", null, null, 404, ErrorCodes.GroupNotFound },
        { "group unknown on interactions", "GET", "/api/ai/interactions?group_id=group_x", null, null, 404, ErrorCodes.GroupNotFound },
        { "message unknown", "GET", "/api/message/msg_20250101000000_nomsg000", null, null, 404, ErrorCodes.MessageNotFound },
        { "unknown route", "GET", "/api/nothing/here", null, null, 404, ErrorCodes.NotFound },
        { "unknown root route", "GET", "/favicon.ico", null, null, 404, ErrorCodes.NotFound },
        { "wrong method", "DELETE", "/api/user/create", null, null, 405, ErrorCodes.MethodNotAllowed },
        { "wrong method on send", "PUT", "/api/message/send", null, null, 405, ErrorCodes.MethodNotAllowed },
        // Member removal is new, so Header mode checks its caller too: a DOCTOR member of the group.
        { "caller missing on member removal", "DELETE", "/api/group/{group}/members/{patient}", null, null, 401, ErrorCodes.Unauthorized },
        { "member removal by a patient", "DELETE", "/api/group/{group}/members/{doctor}", null, "{patient}", 403, ErrorCodes.Forbidden },
        { "member removal by a non-member", "DELETE", "/api/group/{group}/members/{patient}", null, "{outsider}", 403, ErrorCodes.Forbidden },
        { "member removal from an unknown group", "DELETE", "/api/group/group_x/members/{patient}", null, "{doctor}", 404, ErrorCodes.GroupNotFound },
        { "member removal of a non-member", "DELETE", "/api/group/{group}/members/{outsider}", null, "{doctor}", 404, ErrorCodes.NotMember },
        { "member removal of an unknown user", "DELETE", "/api/group/{group}/members/nobody", null, "{doctor}", 404, ErrorCodes.UserNotFound },
        { "caller id too long", "POST", "/api/message/send", "{\"group_id\":\"{group}\",\"content\":\"hi\"}", new string('u', 65), 401, ErrorCodes.Unauthorized },
        // Numbers are ASCII digits and nothing else: .NET's parser alone forgives a trailing NUL.
        { "page with a trailing NUL", "GET", "/api/message/list?group_id={group}&page=1%00", null, null, 400, ErrorCodes.InvalidParameter },
        { "page_size with a trailing space", "GET", "/api/message/list?group_id={group}&page_size=2%20", null, null, 400, ErrorCodes.InvalidParameter },
        { "page in fullwidth digits", "GET", "/api/ai/interactions?group_id={group}&page=%EF%BC%91", null, null, 400, ErrorCodes.InvalidParameter },
        { "control character in a username", "POST", "/api/user/create", "{\"username\":\"a\\u0007b\",\"user_role\":\"PATIENT\"}", null, 400, ErrorCodes.InvalidParameter },
        { "bidi override in a group name", "POST", "/api/group/create", "{\"group_name\":\"a\u202Eb\"}", "{doctor}", 400, ErrorCodes.InvalidParameter },
        { "NUL in content", "POST", "/api/message/send", "{\"group_id\":\"{group}\",\"content\":\"a\\u0000b\"}", "{doctor}", 400, ErrorCodes.InvalidParameter },
        { "a property twice", "POST", "/api/message/send", "{\"group_id\":\"{group}\",\"content\":\"a\",\"content\":\"b\"}", "{doctor}", 400, ErrorCodes.InvalidParameter },
        { "control character in a path id", "GET", "/api/group/g%07", null, null, 400, ErrorCodes.InvalidParameter },
        { "client_msg_id too long", "POST", "/api/message/send", $"{{\"group_id\":\"{{group}}\",\"content\":\"a\",\"client_msg_id\":\"{new string('c', 65)}\"}}", "{doctor}", 400, ErrorCodes.InvalidParameter },
        { "an id that names another key", "GET", "/api/group/{group}:messages", null, null, 404, ErrorCodes.GroupNotFound },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public async Task Should_answer_with_the_spec_error(string name, string method, string path, string? body, string? caller,
        int status, string code)
    {
        var (actualStatus, json) = await fixture.Api.Send(new HttpMethod(method), fixture.Fill(path),
            body is null ? null : fixture.Fill(body), caller is null ? null : fixture.Fill(caller));
        Assert.True(status == (int)actualStatus, $"{name}: expected {status}, got {(int)actualStatus}: {json?.ToJsonString()}");
        AssertErrorBody(json, code);
    }

    [Fact]
    public async Task Should_answer_415_for_a_body_that_is_not_json()
    {
        var (status, json) = await fixture.Api.Send(HttpMethod.Post, "/api/user/create", "username=a", contentType: "application/x-www-form-urlencoded");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        AssertErrorBody(json, ErrorCodes.UnsupportedMediaType);
    }

    [Fact]
    public async Task Should_answer_415_for_a_missing_content_type()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/user/create")
        {
            Content = new ByteArrayContent("{\"username\":\"a\",\"user_role\":\"PATIENT\"}"u8.ToArray()),
        };
        using var response = await fixture.Host.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        AssertErrorBody(JsonNode.Parse(await response.Content.ReadAsStringAsync()), ErrorCodes.UnsupportedMediaType);
    }

    [Fact]
    public async Task Should_answer_400_not_500_for_a_lone_surrogate()
    {
        var (status, json) = await fixture.Api.Send(HttpMethod.Post, "/api/user/create", "{\"username\":\"\\ud800\",\"user_role\":\"PATIENT\"}");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertErrorBody(json, ErrorCodes.InvalidParameter);
    }

    [Fact]
    public async Task Should_accept_64_cjk_characters_or_64_emoji_as_a_username()
    {
        foreach (var name in new[] { new string('张', 64), string.Concat(Enumerable.Repeat("👩‍⚕", 1)) + string.Concat(Enumerable.Repeat("😀", 61)) })
        {
            var (status, json) = await fixture.Api.Post("/api/user/create", new { username = name, user_role = UserRoles.Patient });
            Assert.True(status == HttpStatusCode.OK, $"{Limits.CountCharacters(name)} characters: {json?.ToJsonString()}");
            Assert.Equal(name, (string?)json!["username"]);
        }
        var emoji = string.Concat(Enumerable.Repeat("😀", 64));
        var (emojiStatus, _) = await fixture.Api.Post("/api/user/create", new { username = emoji, user_role = UserRoles.Patient });
        Assert.Equal(HttpStatusCode.OK, emojiStatus);
    }

    [Fact]
    public async Task Should_accept_exactly_5000_characters_of_content()
    {
        var content = string.Concat(Enumerable.Repeat("😀", 5000));
        var sent = await fixture.Api.SendMessage(fixture.Doctor.UserId, fixture.Group.GroupId, content);
        Assert.Equal(content, sent.MsgContent);
    }

    [Fact]
    public async Task Should_accept_tabs_line_breaks_and_bidi_marks_in_content()
    {
        const string content = "第一行\n\t第二行 \u200F\u202Bمرحبا\u202C";
        var sent = await fixture.Api.SendMessage(fixture.Doctor.UserId, fixture.Group.GroupId, content);
        Assert.Equal(content, sent.MsgContent);
    }

    [Fact]
    public async Task Should_say_header_mode_in_the_info_anyone_may_read()
    {
        var (status, json) = await fixture.Api.Get("/api/info");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("header", (string?)json!["auth_mode"]);
        Assert.False(string.IsNullOrEmpty((string?)json["version"]));
    }

    [Fact]
    public async Task Should_answer_an_empty_page_past_the_end()
    {
        var list = await fixture.Api.ListMessages(fixture.Group.GroupId, page: 1000, pageSize: 10);
        Assert.Empty(list.Messages);
        Assert.True(list.Total >= 1);
        Assert.Equal(1000, list.Page);
    }

    [Fact]
    public async Task Should_not_leave_a_group_key_behind_for_an_unknown_group()
    {
        var unknown = "group_20250101000000_" + Guid.NewGuid().ToString("N")[..8];
        var (status, _) = await fixture.Api.Post("/api/message/send", new { group_id = unknown, content = "hi" }, fixture.Doctor.UserId);
        Assert.Equal(HttpStatusCode.NotFound, status);
        var (getStatus, json) = await fixture.Api.Get($"/api/group/{unknown}");
        Assert.Equal(HttpStatusCode.NotFound, getStatus);
        AssertErrorBody(json, ErrorCodes.GroupNotFound);
    }

    private static void AssertErrorBody(JsonNode? json, string code)
    {
        Assert.NotNull(json);
        var error = json!["error"];
        Assert.NotNull(error);
        Assert.Equal(code, (string?)error!["code"]);
        Assert.False(string.IsNullOrEmpty((string?)error["message"]));
        Assert.IsType<JsonObject>(error["details"]);
        Assert.Single(json.AsObject());
    }
}
