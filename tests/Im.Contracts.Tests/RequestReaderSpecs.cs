using Im.Contracts;
using static Im.Contracts.Tests.Json;

namespace Im.Contracts.Tests;

public sealed class RequestReaderSpecs
{
    private const string Emoji = "😀";

    private static ApiError Refused<T>(Outcome<T> parsed) where T : class
    {
        Assert.Null(parsed.Value);
        return Assert.IsType<ApiError>(parsed.Error);
    }

    private static T Accepted<T>(Outcome<T> parsed) where T : class
    {
        Assert.Null(parsed.Error);
        return Assert.IsType<T>(parsed.Value);
    }

    private static void AssertInvalid<T>(Outcome<T> parsed, string? field = null) where T : class
    {
        var error = Refused(parsed);
        Assert.Equal(ErrorCodes.InvalidParameter, error.Code);
        if (field is not null)
        {
            Assert.NotNull(error.Details);
            Assert.Equal(field, error.Details!["field"]);
        }
    }

    // ---- usernames and other lengths: code points, not UTF-16 units ----

    [Theory]
    [InlineData("a")]
    [InlineData("张")]
    [InlineData(Emoji)]
    public void Should_accept_username_of_64_characters(string character)
    {
        var username = Repeat(character, 64);
        var request = Accepted(RequestReader.CreateUser(Object(("username", username), ("user_role", "PATIENT"))));
        Assert.Equal(username, request.Username);
        Assert.Equal("PATIENT", request.UserRole);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("张")]
    [InlineData(Emoji)]
    public void Should_reject_username_of_65_characters(string character) =>
        AssertInvalid(RequestReader.CreateUser(Object(("username", Repeat(character, 65)), ("user_role", "PATIENT"))), "username");

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\t\n")]
    public void Should_reject_blank_username(string username) =>
        AssertInvalid(RequestReader.CreateUser(Object(("username", username), ("user_role", "DOCTOR"))), "username");

    [Theory]
    [InlineData("""{"user_role":"DOCTOR"}""")]
    [InlineData("""{"username":null,"user_role":"DOCTOR"}""")]
    [InlineData("""{"username":123,"user_role":"DOCTOR"}""")]
    [InlineData("""{"username":true,"user_role":"DOCTOR"}""")]
    [InlineData("""{"username":["a"],"user_role":"DOCTOR"}""")]
    [InlineData("""{"username":{"a":1},"user_role":"DOCTOR"}""")]
    public void Should_reject_missing_or_mistyped_username(string body) =>
        AssertInvalid(RequestReader.CreateUser(Parse(body)), "username");

    [Theory]
    [InlineData("[]")]
    [InlineData("\"text\"")]
    [InlineData("42")]
    [InlineData("null")]
    public void Should_reject_body_that_is_not_an_object(string body)
    {
        AssertInvalid(RequestReader.CreateUser(Parse(body)));
        AssertInvalid(RequestReader.SendMessage(Parse(body)));
        AssertInvalid(RequestReader.SendMessageFrame(Parse(body)));
        AssertInvalid(RequestReader.CreateGroup(Parse(body)));
        AssertInvalid(RequestReader.AddMember(Parse(body)));
        AssertInvalid(RequestReader.UpdateUserRole(Parse(body)));
    }

    [Fact]
    public void Should_reject_lone_surrogate_as_invalid_parameter_not_an_exception()
    {
        AssertInvalid(RequestReader.CreateUser(Parse("""{"username":"\ud800","user_role":"DOCTOR"}""")), "username");
        AssertInvalid(RequestReader.CreateUser(Parse("""{"username":"bob","user_role":"\ud800"}""")), "user_role");
        AssertInvalid(RequestReader.SendMessage(Parse("""{"group_id":"g","content":"\ud800"}""")), "content");
        AssertInvalid(RequestReader.SendMessage(Parse("""{"group_id":"\udfff","content":"hi"}""")), "group_id");
        AssertInvalid(RequestReader.CreateGroup(Parse("""{"group_name":"n","description":"x\ud800"}""")), "description");
        AssertInvalid(RequestReader.SendMessageFrame(Parse("""{"group_id":"g","content":"hi","client_msg_id":"\ud800"}""")), "client_msg_id");
    }

    [Fact]
    public void Should_accept_a_valid_surrogate_pair_escape()
    {
        var request = Accepted(RequestReader.CreateUser(Parse("""{"username":"\ud83d\ude00","user_role":"DOCTOR"}""")));
        Assert.Equal(Emoji, request.Username);
    }

    // ---- roles ----

    [Theory]
    [InlineData("PATIENT")]
    [InlineData("DOCTOR")]
    [InlineData("AI_ASSISTANT")]
    public void Should_accept_exact_uppercase_roles(string role)
    {
        Assert.Equal(role, Accepted(RequestReader.CreateUser(Object(("username", "u"), ("user_role", role)))).UserRole);
        Assert.Equal(role, Accepted(RequestReader.UpdateUserRole(Object(("user_role", role)))).UserRole);
        Assert.Equal(role, Accepted(RequestReader.AddMember(Object(("user_id", "user_1"), ("user_role", role)))).UserRole);
    }

    [Theory]
    [InlineData("\"patient\"")]
    [InlineData("\"Patient\"")]
    [InlineData("\"PATIENT \"")]
    [InlineData("\" PATIENT\"")]
    [InlineData("\"NURSE\"")]
    [InlineData("\"\"")]
    [InlineData("0")]
    [InlineData("1")]
    [InlineData("null")]
    [InlineData("[\"PATIENT\"]")]
    public void Should_reject_roles_that_are_not_exact_uppercase_strings(string role)
    {
        AssertInvalid(RequestReader.CreateUser(Parse($$"""{"username":"u","user_role":{{role}}}""")), "user_role");
        AssertInvalid(RequestReader.UpdateUserRole(Parse($$"""{"user_role":{{role}}}""")), "user_role");
        AssertInvalid(RequestReader.AddMember(Parse($$"""{"user_id":"user_1","user_role":{{role}}}""")), "user_role");
    }

    [Fact]
    public void Should_reject_missing_role()
    {
        AssertInvalid(RequestReader.CreateUser(Object(("username", "u"))), "user_role");
        AssertInvalid(RequestReader.UpdateUserRole(Parse("{}")), "user_role");
        AssertInvalid(RequestReader.AddMember(Object(("user_id", "user_1"))), "user_role");
    }

    // ---- message content and group id ----

    [Fact]
    public void Should_accept_content_of_exactly_5000_emoji()
    {
        var content = Repeat(Emoji, 5000);
        Assert.Equal(10_000, content.Length);
        Assert.Equal(content, Accepted(RequestReader.SendMessage(Object(("group_id", "g"), ("content", content)))).Content);
        Assert.Equal(content, Accepted(RequestReader.SendMessageFrame(Object(("group_id", "g"), ("content", content)))).Content);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("张")]
    [InlineData(Emoji)]
    public void Should_answer_1002_for_content_of_5001_characters(string character)
    {
        var content = Repeat(character, 5001);
        Assert.Equal(ErrorCodes.ContentTooLong, Refused(RequestReader.SendMessage(Object(("group_id", "g"), ("content", content)))).Code);
        Assert.Equal(ErrorCodes.ContentTooLong, Refused(RequestReader.SendMessageFrame(Object(("group_id", "g"), ("content", content)))).Code);
    }

    [Theory]
    [InlineData("""{"group_id":"g"}""")]
    [InlineData("""{"group_id":"g","content":null}""")]
    [InlineData("""{"group_id":"g","content":""}""")]
    [InlineData("""{"group_id":"g","content":"   "}""")]
    [InlineData("""{"group_id":"g","content":"\n\t \r"}""")]
    public void Should_answer_1001_for_missing_empty_or_blank_content(string body)
    {
        Assert.Equal(ErrorCodes.ContentEmpty, Refused(RequestReader.SendMessage(Parse(body))).Code);
        Assert.Equal(ErrorCodes.ContentEmpty, Refused(RequestReader.SendMessageFrame(Parse(body))).Code);
    }

    [Theory]
    [InlineData("""{"group_id":"g","content":["hi"]}""")]
    [InlineData("""{"group_id":"g","content":42}""")]
    [InlineData("""{"group_id":"g","content":{"text":"hi"}}""")]
    [InlineData("""{"group_id":"g","content":false}""")]
    public void Should_reject_content_that_is_not_a_string(string body)
    {
        AssertInvalid(RequestReader.SendMessage(Parse(body)), "content");
        AssertInvalid(RequestReader.SendMessageFrame(Parse(body)), "content");
    }

    [Theory]
    [InlineData("""{"content":"hi"}""")]
    [InlineData("""{"content":"hi","group_id":null}""")]
    [InlineData("""{"content":"hi","group_id":""}""")]
    public void Should_answer_1003_for_missing_or_empty_group_id(string body)
    {
        Assert.Equal(ErrorCodes.GroupIdEmpty, Refused(RequestReader.SendMessage(Parse(body))).Code);
        Assert.Equal(ErrorCodes.GroupIdEmpty, Refused(RequestReader.SendMessageFrame(Parse(body))).Code);
    }

    [Fact]
    public void Should_reject_group_id_over_64_characters()
    {
        AssertInvalid(RequestReader.SendMessage(Object(("group_id", Repeat("g", 65)), ("content", "hi"))), "group_id");
        AssertInvalid(RequestReader.SendMessageFrame(Object(("group_id", Repeat(Emoji, 65)), ("content", "hi"))), "group_id");
    }

    [Fact]
    public void Should_accept_group_id_of_64_characters()
    {
        var groupId = Repeat("组", 64);
        Assert.Equal(groupId, Accepted(RequestReader.SendMessage(Object(("group_id", groupId), ("content", "hi")))).GroupId);
    }

    [Theory]
    [InlineData("""{"content":"hi","group_id":7}""")]
    [InlineData("""{"content":"hi","group_id":["g"]}""")]
    public void Should_reject_group_id_that_is_not_a_string(string body) =>
        AssertInvalid(RequestReader.SendMessage(Parse(body)), "group_id");

    [Fact]
    public void Should_read_a_valid_send_message()
    {
        var request = Accepted(RequestReader.SendMessage(Object(("group_id", "group_1"), ("content", "  你好 😀 "))));
        Assert.Equal(new SendMessageRequest("group_1", "  你好 😀 "), request);
    }

    // ---- client_msg_id of the WebSocket frame ----

    [Theory]
    [InlineData("""{"group_id":"g","content":"hi"}""")]
    [InlineData("""{"group_id":"g","content":"hi","client_msg_id":null}""")]
    public void Should_treat_client_msg_id_as_optional(string body) =>
        Assert.Null(Accepted(RequestReader.SendMessageFrame(Parse(body))).ClientMsgId);

    [Fact]
    public void Should_keep_client_msg_id_when_given()
    {
        var frame = Accepted(RequestReader.SendMessageFrame(Object(("group_id", "g"), ("content", "hi"), ("client_msg_id", Repeat(Emoji, 64)))));
        Assert.Equal(new SendMessageFrame("g", "hi", Repeat(Emoji, 64)), frame);
    }

    [Theory]
    [InlineData("""{"group_id":"g","content":"hi","client_msg_id":5}""")]
    [InlineData("""{"group_id":"g","content":"hi","client_msg_id":["a"]}""")]
    public void Should_reject_client_msg_id_that_is_not_a_string(string body) =>
        AssertInvalid(RequestReader.SendMessageFrame(Parse(body)), "client_msg_id");

    [Fact]
    public void Should_reject_client_msg_id_over_64_characters() =>
        AssertInvalid(RequestReader.SendMessageFrame(Object(("group_id", "g"), ("content", "hi"), ("client_msg_id", Repeat("c", 65)))), "client_msg_id");

    // ---- groups and members ----

    [Theory]
    [InlineData("""{"group_name":"Cardiology"}""")]
    [InlineData("""{"group_name":"Cardiology","description":null}""")]
    public void Should_treat_description_as_optional(string body)
    {
        var request = Accepted(RequestReader.CreateGroup(Parse(body)));
        Assert.Equal("Cardiology", request.GroupName);
        Assert.Null(request.Description);
    }

    [Fact]
    public void Should_keep_description_when_given()
    {
        Assert.Equal("", Accepted(RequestReader.CreateGroup(Object(("group_name", "n"), ("description", "")))).Description);
        var longest = Repeat("描", Limits.DescriptionMax);
        Assert.Equal(longest, Accepted(RequestReader.CreateGroup(Object(("group_name", "n"), ("description", longest)))).Description);
    }

    [Theory]
    [InlineData("""{"group_name":"n","description":1}""")]
    [InlineData("""{"group_name":"n","description":["d"]}""")]
    [InlineData("""{"group_name":"n","description":{}}""")]
    [InlineData("""{"group_name":"n","description":true}""")]
    public void Should_reject_description_of_wrong_type(string body) =>
        AssertInvalid(RequestReader.CreateGroup(Parse(body)), "description");

    [Fact]
    public void Should_reject_description_over_its_bound() =>
        AssertInvalid(RequestReader.CreateGroup(Object(("group_name", "n"), ("description", Repeat(Emoji, Limits.DescriptionMax + 1)))), "description");

    [Fact]
    public void Should_bound_group_name_at_128_characters()
    {
        Accepted(RequestReader.CreateGroup(Object(("group_name", Repeat(Emoji, 128)))));
        AssertInvalid(RequestReader.CreateGroup(Object(("group_name", Repeat(Emoji, 129)))), "group_name");
        AssertInvalid(RequestReader.CreateGroup(Object(("group_name", " "))), "group_name");
        AssertInvalid(RequestReader.CreateGroup(Parse("""{"description":"d"}""")), "group_name");
        AssertInvalid(RequestReader.CreateGroup(Parse("""{"group_name":5}""")), "group_name");
    }

    [Fact]
    public void Should_bound_member_user_id_at_48_characters()
    {
        Accepted(RequestReader.AddMember(Object(("user_id", Repeat("u", 48)), ("user_role", "PATIENT"))));
        AssertInvalid(RequestReader.AddMember(Object(("user_id", Repeat("u", 49)), ("user_role", "PATIENT"))), "user_id");
        AssertInvalid(RequestReader.AddMember(Object(("user_role", "PATIENT"))), "user_id");
        AssertInvalid(RequestReader.AddMember(Parse("""{"user_id":1,"user_role":"PATIENT"}""")), "user_id");
    }

    // ---- ids from paths and queries ----

    [Fact]
    public void Should_check_ids_from_paths()
    {
        Assert.Null(RequestReader.CheckId("user_id", Repeat(Emoji, 64)));
        Assert.Equal(ErrorCodes.InvalidParameter, RequestReader.CheckId("user_id", Repeat(Emoji, 65))?.Code);
        Assert.Equal(ErrorCodes.InvalidParameter, RequestReader.CheckId("user_id", "")?.Code);
        Assert.Equal(ErrorCodes.InvalidParameter, RequestReader.CheckId("user_id", null)?.Code);
    }

    [Fact]
    public void Should_answer_1003_for_missing_group_id_query()
    {
        Assert.Equal(ErrorCodes.GroupIdEmpty, RequestReader.CheckGroupIdQuery(null)?.Code);
        Assert.Equal(ErrorCodes.GroupIdEmpty, RequestReader.CheckGroupIdQuery("")?.Code);
        Assert.Equal(ErrorCodes.InvalidParameter, RequestReader.CheckGroupIdQuery(Repeat("g", 65))?.Code);
        Assert.Null(RequestReader.CheckGroupIdQuery("group_20250127120000_abcdefgh"));
    }

    // ---- paging ----

    [Fact]
    public void Should_default_paging_to_page_1_of_20()
    {
        var page = Accepted(RequestReader.Paging(null, null));
        Assert.Equal(new PageRequest(1, 20), page);
        Assert.Equal(0, page.Skip);
    }

    [Theory]
    [InlineData("1", "1", 1, 1, 0)]
    [InlineData("3", "50", 3, 50, 100)]
    [InlineData("2", "100", 2, 100, 100)]
    [InlineData("2", null, 2, 20, 20)]
    [InlineData(null, "7", 1, 7, 0)]
    [InlineData("2147483647", "100", int.MaxValue, 100, (int.MaxValue - 1L) * 100)]
    public void Should_accept_valid_paging(string? page, string? pageSize, int expectedPage, int expectedSize, long expectedSkip)
    {
        var request = Accepted(RequestReader.Paging(page, pageSize));
        Assert.Equal(expectedPage, request.Page);
        Assert.Equal(expectedSize, request.PageSize);
        Assert.Equal(expectedSkip, request.Skip);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("abc")]
    [InlineData("1.5")]
    [InlineData("99999999999999999999")]
    [InlineData("2147483648")]
    [InlineData("")]
    [InlineData(" 1")]
    [InlineData("+1")]
    [InlineData("1e2")]
    public void Should_reject_bad_page(string page) => AssertInvalid(RequestReader.Paging(page, null), "page");

    [Theory]
    [InlineData("0")]
    [InlineData("101")]
    [InlineData("-1")]
    [InlineData("abc")]
    [InlineData("1.5")]
    [InlineData("99999999999999999999")]
    [InlineData("")]
    public void Should_reject_bad_page_size(string pageSize) => AssertInvalid(RequestReader.Paging("1", pageSize), "page_size");
}
