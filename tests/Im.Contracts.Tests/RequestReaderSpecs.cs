using System.Text.Json;
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
    public void Should_refuse_an_id_holding_a_lone_surrogate()
    {
        // Built here, not in attributes: an attribute's string is stored as UTF-8, which has no lone surrogates.
        foreach (var id in new[] { "a\ud800", "\udfffa", "\ud800\ud800" })
        {
            // Read as runes, "\ud800" and "\udfff" are both U+FFFD: two ids that would name one key.
            Assert.Equal(ErrorCodes.InvalidParameter, RequestReader.CheckId("group_id", id)?.Code);
            Assert.Equal(ErrorCodes.InvalidParameter, RequestReader.SendMessage(Json.Object(("group_id", "g"), ("content", "c")), id).Error?.Code);
        }
    }

    [Fact]
    public void Should_accept_an_id_holding_a_surrogate_pair_or_a_replacement_character() =>
        Assert.Null(RequestReader.CheckId("group_id", "g😀\ufffd"));

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

    // ---- text rules: what a name or an id, and what prose, may contain ----

    /// <summary>Every place a name or an id is read: the field its error names, where it is read, and the read.</summary>
    private static readonly (string Field, string Where, Func<string, ApiError?> Read)[] NamesAndIds =
    [
        ("username", "create user", v => RequestReader.CreateUser(Object(("username", v), ("user_role", "PATIENT"))).Error),
        ("group_name", "create group", v => RequestReader.CreateGroup(Object(("group_name", v))).Error),
        ("created_by", "create group", v => RequestReader.CreateGroup(Object(("group_name", "n"), ("created_by", v))).Error),
        ("user_id", "add member", v => RequestReader.AddMember(Object(("user_id", v), ("user_role", "PATIENT"))).Error),
        ("group_id", "send message", v => RequestReader.SendMessage(Object(("group_id", v), ("content", "hi"))).Error),
        ("group_id", "send_message frame", v => RequestReader.SendMessageFrame(Object(("group_id", v), ("content", "hi"))).Error),
        ("client_msg_id", "send message", v => RequestReader.SendMessage(Object(("group_id", "g"), ("content", "hi"), ("client_msg_id", v))).Error),
        ("client_msg_id", "send_message frame",
            v => RequestReader.SendMessageFrame(Object(("group_id", "g"), ("content", "hi"), ("client_msg_id", v))).Error),
        ("Idempotency-Key", "send message header", v => RequestReader.SendMessage(Object(("group_id", "g"), ("content", "hi")), v).Error),
        ("message_id", "path", v => RequestReader.CheckId("message_id", v)),
        ("group_id", "list query", RequestReader.CheckGroupIdQuery),
        ("group_id", "page query", v => RequestReader.GroupPage(v, null, null).Error),
    ];

    /// <summary>Every place prose is read: message content (both transports) and a group's description.</summary>
    private static readonly (string Field, string Where, Func<string, ApiError?> Read)[] Prose =
    [
        ("content", "send message", v => RequestReader.SendMessage(Object(("group_id", "g"), ("content", v))).Error),
        ("content", "send_message frame", v => RequestReader.SendMessageFrame(Object(("group_id", "g"), ("content", v))).Error),
        ("description", "create group", v => RequestReader.CreateGroup(Object(("group_name", "n"), ("description", v))).Error),
    ];

    /// <summary>Reads "a{c}b" everywhere and lists where the outcome is not the expected one.</summary>
    private static List<string> Mismatches(
        (string Field, string Where, Func<string, ApiError?> Read)[] places, int codePoint, bool accepted)
    {
        var text = "a" + char.ConvertFromUtf32(codePoint) + "b";
        var mismatches = new List<string>();
        foreach (var (field, where, read) in places)
        {
            var error = read(text);
            if (accepted && error is not null)
                mismatches.Add($"{field} ({where}) refused U+{codePoint:X4}: {error.Code} {error.Message}");
            else if (!accepted && (error?.Code != ErrorCodes.InvalidParameter || error.Details?["field"] != field))
                mismatches.Add($"{field} ({where}) gave {error?.Code ?? "no error"} field {error?.Details?.GetValueOrDefault("field")} for U+{codePoint:X4}");
        }
        return mismatches;
    }

    // C0 and C1 controls (Unicode Cc) other than tab, LF and CR.
    [Theory]
    [InlineData(0x0000)]
    [InlineData(0x0001)]
    [InlineData(0x0008)]
    [InlineData(0x000B)]
    [InlineData(0x000C)]
    [InlineData(0x001B)]
    [InlineData(0x001F)]
    [InlineData(0x007F)]
    [InlineData(0x0080)]
    [InlineData(0x0085)]
    [InlineData(0x009F)]
    public void Should_refuse_control_characters_everywhere(int codePoint)
    {
        Assert.Empty(Mismatches(NamesAndIds, codePoint, accepted: false));
        Assert.Empty(Mismatches(Prose, codePoint, accepted: false));
    }

    [Theory]
    [InlineData(0x0009)]
    [InlineData(0x000A)]
    [InlineData(0x000D)]
    public void Should_allow_tabs_and_line_breaks_in_prose_only(int codePoint)
    {
        Assert.Empty(Mismatches(NamesAndIds, codePoint, accepted: false));
        Assert.Empty(Mismatches(Prose, codePoint, accepted: true));
    }

    // Embeddings, overrides (U+202A–U+202E) and isolates (U+2066–U+2069) make one name display as another.
    [Theory]
    [InlineData(0x202A)]
    [InlineData(0x202B)]
    [InlineData(0x202C)]
    [InlineData(0x202D)]
    [InlineData(0x202E)]
    [InlineData(0x2066)]
    [InlineData(0x2067)]
    [InlineData(0x2068)]
    [InlineData(0x2069)]
    public void Should_allow_bidi_embedding_override_and_isolate_in_prose_only(int codePoint)
    {
        Assert.Empty(Mismatches(NamesAndIds, codePoint, accepted: false));
        Assert.Empty(Mismatches(Prose, codePoint, accepted: true));
    }

    // Marks and spaces that are not controls, including the neighbours of both refused bidi ranges.
    [Theory]
    [InlineData(0x00A0)]
    [InlineData(0x061C)]
    [InlineData(0x200B)]
    [InlineData(0x200E)]
    [InlineData(0x200F)]
    [InlineData(0x2029)]
    [InlineData(0x202F)]
    [InlineData(0x2065)]
    [InlineData(0x206A)]
    [InlineData(0xFEFF)]
    [InlineData(0x5F20)]
    [InlineData(0x1F600)]
    public void Should_accept_other_characters_everywhere(int codePoint)
    {
        Assert.Empty(Mismatches(NamesAndIds, codePoint, accepted: true));
        Assert.Empty(Mismatches(Prose, codePoint, accepted: true));
    }

    [Fact]
    public void Should_keep_prose_with_tabs_line_breaks_and_bidi_as_given()
    {
        var content = "第一行\r\n\t\u202Bשלום\u202C \u2067abc\u2069";

        Assert.Equal(content, Accepted(RequestReader.SendMessage(Object(("group_id", "g"), ("content", content)))).Content);
        Assert.Equal(content, Accepted(RequestReader.CreateGroup(Object(("group_name", "n"), ("description", content)))).Description);
    }

    [Fact]
    public void Should_accept_an_empty_description_but_no_empty_name_or_id()
    {
        Assert.Equal("", Accepted(RequestReader.CreateGroup(Object(("group_name", "n"), ("description", "")))).Description);

        AssertInvalid(RequestReader.CreateGroup(Object(("group_name", ""))), "group_name");
        AssertInvalid(RequestReader.CreateGroup(Object(("group_name", "n"), ("created_by", ""))), "created_by");
        AssertInvalid(RequestReader.AddMember(Object(("user_id", ""), ("user_role", "PATIENT"))), "user_id");
        AssertInvalid(RequestReader.SendMessage(Object(("group_id", "g"), ("content", "hi"), ("client_msg_id", ""))), "client_msg_id");
        AssertInvalid(RequestReader.SendMessageFrame(Object(("group_id", "g"), ("content", "hi"), ("client_msg_id", ""))), "client_msg_id");
    }

    [Theory]
    [InlineData("""{"group_name":"\ud800"}""", "group_name")]
    [InlineData("""{"group_name":"n","created_by":"a\udfffb"}""", "created_by")]
    [InlineData("""{"group_name":"n","description":"\ude00\ud83d"}""", "description")]
    public void Should_refuse_lone_surrogates_when_creating_a_group(string body, string field) =>
        AssertInvalid(RequestReader.CreateGroup(Parse(body)), field);

    [Fact]
    public void Should_refuse_a_lone_surrogate_in_a_member_user_id() =>
        AssertInvalid(RequestReader.AddMember(Parse("""{"user_id":"u\ud800","user_role":"PATIENT"}""")), "user_id");

    [Theory]
    [InlineData("""{"group_id":"g","content":"a\ud800b"}""", "content")]
    [InlineData("""{"group_id":"g\udbff","content":"hi"}""", "group_id")]
    [InlineData("""{"group_id":"g","content":"hi","client_msg_id":"\ud800x"}""", "client_msg_id")]
    public void Should_refuse_lone_surrogates_in_a_message(string body, string field)
    {
        AssertInvalid(RequestReader.SendMessage(Parse(body)), field);
        AssertInvalid(RequestReader.SendMessageFrame(Parse(body)), field);
    }

    // ---- client_msg_id and the Idempotency-Key header ----

    [Theory]
    [InlineData(1)]
    [InlineData(64)]
    public void Should_accept_a_client_msg_id_of_1_to_64_characters(int length)
    {
        var id = Repeat(Emoji, length);

        Assert.Equal(id, Accepted(RequestReader.SendMessage(Object(("group_id", "g"), ("content", "hi"), ("client_msg_id", id)))).ClientMsgId);
        Assert.Equal(id, Accepted(RequestReader.SendMessage(Object(("group_id", "g"), ("content", "hi")), id)).ClientMsgId);
    }

    [Fact]
    public void Should_refuse_a_client_msg_id_of_65_characters_in_the_body() =>
        AssertInvalid(RequestReader.SendMessage(Object(("group_id", "g"), ("content", "hi"), ("client_msg_id", Repeat("c", 65)))),
            "client_msg_id");

    [Fact]
    public void Should_read_no_client_msg_id_when_neither_body_nor_header_has_one() =>
        Assert.Null(Accepted(RequestReader.SendMessage(Object(("group_id", "g"), ("content", "hi")), null)).ClientMsgId);

    [Fact]
    public void Should_take_the_idempotency_key_header_as_the_client_msg_id()
    {
        var request = Accepted(RequestReader.SendMessage(Object(("group_id", "g"), ("content", "hi")), "key-1"));

        Assert.Equal(new SendMessageRequest("g", "hi", "key-1"), request);
    }

    [Fact]
    public void Should_accept_the_same_key_in_header_and_body() =>
        Assert.Equal("key-1",
            Accepted(RequestReader.SendMessage(Object(("group_id", "g"), ("content", "hi"), ("client_msg_id", "key-1")), "key-1")).ClientMsgId);

    [Theory]
    [InlineData("key-2")]
    [InlineData("KEY-1")]
    [InlineData("key-1 ")]
    public void Should_refuse_header_and_body_keys_that_differ(string header) =>
        AssertInvalid(RequestReader.SendMessage(Object(("group_id", "g"), ("content", "hi"), ("client_msg_id", "key-1")), header),
            "client_msg_id");

    [Fact]
    public void Should_refuse_a_bad_idempotency_key_header()
    {
        var body = Object(("group_id", "g"), ("content", "hi"));

        AssertInvalid(RequestReader.SendMessage(body, ""), "Idempotency-Key");
        AssertInvalid(RequestReader.SendMessage(body, Repeat("k", 65)), "Idempotency-Key");
        AssertInvalid(RequestReader.SendMessage(body, "k\u0000"), "Idempotency-Key");
        AssertInvalid(RequestReader.SendMessage(body, "\u202Ek"), "Idempotency-Key");
    }

    [Fact]
    public void Should_name_the_body_field_when_the_body_key_is_bad_and_the_header_good() =>
        AssertInvalid(RequestReader.SendMessage(Parse("""{"group_id":"g","content":"hi","client_msg_id":7}"""), "key-1"), "client_msg_id");

    [Fact]
    public void Should_check_the_content_before_the_idempotency_key() =>
        Assert.Equal(ErrorCodes.ContentEmpty, Refused(RequestReader.SendMessage(Object(("group_id", "g"), ("content", " ")), "")).Code);

    // ---- msg_type: TEXT by default, or IMAGE whose content is a media_id ----

    [Theory]
    [InlineData("""{"group_id":"g","content":"hi"}""", MessageTypes.Text)]
    [InlineData("""{"group_id":"g","content":"hi","msg_type":null}""", MessageTypes.Text)]
    [InlineData("""{"group_id":"g","content":"hi","msg_type":"TEXT"}""", MessageTypes.Text)]
    [InlineData("""{"group_id":"g","content":"media_20250127120000_abcd1234","msg_type":"IMAGE"}""", MessageTypes.Image)]
    [InlineData("""{"group_id":"g","content":"m","msg_type":"\u0049MAGE"}""", MessageTypes.Image)]
    public void Should_read_msg_type_as_text_by_default_or_as_given(string body, string expected)
    {
        Assert.Equal(expected, Accepted(RequestReader.SendMessage(Parse(body))).MsgType);
        Assert.Equal(expected, Accepted(RequestReader.SendMessageFrame(Parse(body))).MsgType);
    }

    [Fact]
    public void Should_read_an_image_send_whole()
    {
        var body = Object(("group_id", "g"), ("content", "media_1"), ("msg_type", "IMAGE"), ("client_msg_id", "c-1"));

        Assert.Equal(new SendMessageRequest("g", "media_1", "c-1", MessageTypes.Image), Accepted(RequestReader.SendMessage(body)));
        Assert.Equal(new SendMessageRequest("g", "media_1", "c-1", MessageTypes.Image),
            Accepted(RequestReader.SendMessage(Object(("group_id", "g"), ("content", "media_1"), ("msg_type", "IMAGE")), "c-1")));
        Assert.Equal(new SendMessageFrame("g", "media_1", "c-1", MessageTypes.Image), Accepted(RequestReader.SendMessageFrame(body)));
    }

    [Theory]
    [InlineData("\"AI_REPLY\"")]
    [InlineData("\"VIDEO\"")]
    [InlineData("\"image\"")]
    [InlineData("\"text\"")]
    [InlineData("\"Image\"")]
    [InlineData("\"IMAGE \"")]
    [InlineData("\" TEXT\"")]
    [InlineData("\"\"")]
    [InlineData("\"IMAGE\\u0000\"")]
    [InlineData("\"\\ud800\"")]
    [InlineData("0")]
    [InlineData("1")]
    [InlineData("true")]
    [InlineData("""["IMAGE"]""")]
    [InlineData("""{"type":"IMAGE"}""")]
    public void Should_refuse_a_msg_type_that_is_not_exactly_text_or_image(string msgType)
    {
        var body = Parse($$"""{"group_id":"g","content":"hi","msg_type":{{msgType}}}""");

        AssertInvalid(RequestReader.SendMessage(body), "msg_type");
        AssertInvalid(RequestReader.SendMessageFrame(body), "msg_type");
    }

    [Theory]
    [InlineData("m", 1)]
    [InlineData("m", 64)]
    [InlineData(Emoji, 64)]
    [InlineData("张", 64)]
    public void Should_accept_image_content_of_1_to_64_characters(string character, int length)
    {
        var content = Repeat(character, length);
        var body = Object(("group_id", "g"), ("content", content), ("msg_type", "IMAGE"));

        Assert.Equal(content, Accepted(RequestReader.SendMessage(body)).Content);
        Assert.Equal(content, Accepted(RequestReader.SendMessageFrame(body)).Content);
    }

    public static TheoryData<string> NotAMediaId => new()
    {
        Repeat("m", 65), Repeat(Emoji, 65), "media\t1", "media\n1", "media\r\n1", "\u202Emedia_1", "media_1\u2066", "media_1\u2069",
    };

    [Theory]
    [MemberData(nameof(NotAMediaId))]
    public void Should_refuse_image_content_that_is_no_id_but_take_it_as_text(string content)
    {
        var image = Object(("group_id", "g"), ("content", content), ("msg_type", "IMAGE"));
        var text = Object(("group_id", "g"), ("content", content), ("msg_type", "TEXT"));

        AssertInvalid(RequestReader.SendMessage(image), "content");
        AssertInvalid(RequestReader.SendMessageFrame(image), "content");
        Assert.Equal(content, Accepted(RequestReader.SendMessage(text)).Content);
        Assert.Equal(content, Accepted(RequestReader.SendMessageFrame(text)).Content);
    }

    public static TheoryData<string, string, string?> FirstFaultOfASend => new()
    {
        // content (1001, 1002) comes before group_id (1003), which comes before msg_type, then the IMAGE content rule.
        { """{"group_id":"g","msg_type":"IMAGE"}""", ErrorCodes.ContentEmpty, null },
        { """{"group_id":"g","content":"  ","msg_type":"IMAGE"}""", ErrorCodes.ContentEmpty, null },
        { """{"group_id":"g","content":"  ","msg_type":"VIDEO"}""", ErrorCodes.ContentEmpty, null },
        { $$"""{"group_id":"g","content":"{{Repeat("m", 5001)}}","msg_type":"VIDEO"}""", ErrorCodes.ContentTooLong, null },
        { """{"content":"media_1","msg_type":"VIDEO"}""", ErrorCodes.GroupIdEmpty, null },
        { $$"""{"group_id":"{{Repeat("g", 65)}}","content":"{{Repeat("m", 65)}}","msg_type":"IMAGE"}""", ErrorCodes.InvalidParameter, "group_id" },
        { $$"""{"group_id":"g","content":"{{Repeat("m", 65)}}","msg_type":"IMAGE "}""", ErrorCodes.InvalidParameter, "msg_type" },
        { $$"""{"group_id":"g","content":"{{Repeat("m", 65)}}","msg_type":"IMAGE","client_msg_id":7}""", ErrorCodes.InvalidParameter, "content" },
        { """{"group_id":"g","content":"media_1","msg_type":"IMAGE","client_msg_id":7}""", ErrorCodes.InvalidParameter, "client_msg_id" },
    };

    [Theory]
    [MemberData(nameof(FirstFaultOfASend))]
    public void Should_name_the_first_fault_of_a_send_in_the_documented_order(string body, string code, string? field)
    {
        foreach (var error in new[] { Refused(RequestReader.SendMessage(Parse(body))), Refused(RequestReader.SendMessageFrame(Parse(body))) })
        {
            Assert.Equal(code, error.Code);
            Assert.Equal(field, error.Details?.GetValueOrDefault("field"));
        }
    }

    // ---- paging: ASCII digits only ----

    public static TheoryData<string> NotPlainDigits => new()
    {
        "1\0", "1x", " 1", "1 ", "+1", "-0", "1,0", "1_0", "0x1", "1.0", "\u0661", "1\u0660", "\uFF11", "\u00B9", "\u0967",
    };

    [Theory]
    [MemberData(nameof(NotPlainDigits))]
    public void Should_refuse_paging_that_is_not_plain_ascii_digits(string value)
    {
        AssertInvalid(RequestReader.Paging(value, null), "page");
        AssertInvalid(RequestReader.Paging(null, value), "page_size");
        AssertInvalid(RequestReader.GroupPage("g", null, null, value), "after_seq");
        AssertInvalid(RequestReader.GroupPage("g", value, null), "page");
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("42", 42)]
    [InlineData("0007", 7)]
    [InlineData("999999999999999999", 999_999_999_999_999_999)]
    public void Should_read_after_seq_as_an_integer_of_at_least_0(string afterSeq, long expected)
    {
        var request = Accepted(RequestReader.GroupPage("group_1", "2", "5", afterSeq));

        Assert.Equal(new GroupPageRequest("group_1", new PageRequest(2, 5), expected), request);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("1000000000000000000")]
    public void Should_refuse_a_negative_empty_or_oversized_after_seq(string afterSeq) =>
        AssertInvalid(RequestReader.GroupPage("g", null, null, afterSeq), "after_seq");

    [Fact]
    public void Should_read_a_group_page_without_after_seq()
    {
        Assert.Equal(new GroupPageRequest("g", new PageRequest(1, 20), null), Accepted(RequestReader.GroupPage("g", null, null)));
        Assert.Equal(7, Accepted(RequestReader.Paging("007", null)).Page);
    }

    [Fact]
    public void Should_answer_1003_before_looking_at_the_page()
    {
        Assert.Equal(ErrorCodes.GroupIdEmpty, Refused(RequestReader.GroupPage(null, "x", "x", "x")).Code);
        Assert.Equal(ErrorCodes.GroupIdEmpty, Refused(RequestReader.GroupPage("", "1", "1", "1")).Code);
    }

    // ---- what a WebSocket frame says before it is read as a request ----

    [Theory]
    [InlineData("""{"type":"send_message","client_msg_id":"c-1"}""", "c-1")]
    [InlineData("""{"client_msg_id":"\ud83d\ude00"}""", Emoji)]
    [InlineData("""{"type":"send_message"}""", null)]
    [InlineData("""{"client_msg_id":null}""", null)]
    [InlineData("""{"client_msg_id":5}""", null)]
    [InlineData("""{"client_msg_id":["c-1"]}""", null)]
    [InlineData("""{"client_msg_id":""}""", null)]
    [InlineData("""{"client_msg_id":"\ud800"}""", null)]
    [InlineData("""{"client_msg_id":"c\u0000"}""", null)]
    [InlineData("""{"client_msg_id":"\u202ec-1"}""", null)]
    [InlineData("""["c-1"]""", null)]
    [InlineData("\"c-1\"", null)]
    [InlineData("null", null)]
    public void Should_echo_only_a_valid_client_msg_id(string frame, string? expected) =>
        Assert.Equal(expected, RequestReader.ClientMsgIdOf(Parse(frame)));

    [Fact]
    public void Should_echo_no_client_msg_id_of_65_characters() =>
        Assert.Null(RequestReader.ClientMsgIdOf(Object(("client_msg_id", Repeat("c", 65)))));

    [Theory]
    [InlineData("""{"type":"ping"}""", "ping")]
    [InlineData("""{"type":"send_message","content":"hi"}""", "send_message")]
    [InlineData("""{"type":"nonsense"}""", "nonsense")]
    [InlineData("""{"type":5}""", null)]
    [InlineData("""{"type":null}""", null)]
    [InlineData("""{"type":["ping"]}""", null)]
    [InlineData("""{"type":{"name":"ping"}}""", null)]
    [InlineData("""{"type":"\ud800"}""", null)]
    [InlineData("""{"kind":"ping"}""", null)]
    [InlineData("""["ping"]""", null)]
    [InlineData("\"ping\"", null)]
    public void Should_read_a_frame_type_only_when_it_is_text(string frame, string? expected) =>
        Assert.Equal(expected, RequestReader.FrameType(Parse(frame)));

    // ---- repeated properties ----

    [Theory]
    [InlineData("""{"content":"a","content":"b"}""")]
    [InlineData("""{"type":"ping","type":"send_message"}""")]
    [InlineData("""{"group_id":"g","content":"hi","client_msg_id":null,"client_msg_id":"c"}""")]
    [InlineData("""{"outer":{"a":1,"a":2}}""")]
    [InlineData("""[{"a":1,"a":1}]""")]
    [InlineData("""{"type":"ping","\u0074ype":"send_message"}""")]
    public void Should_refuse_repeated_properties_when_parsing_requests(string json) =>
        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(json, ImJson.DocumentOptions).Dispose());

    [Theory]
    [InlineData("""{"a":1,"A":2}""")]
    [InlineData("""{"a":{"b":1},"b":{"a":2}}""")]
    [InlineData("""[{"a":1},{"a":2}]""")]
    public void Should_accept_the_same_name_in_other_objects_or_other_case(string json)
    {
        using var document = JsonDocument.Parse(json, ImJson.DocumentOptions);
        Assert.NotEqual(JsonValueKind.Undefined, document.RootElement.ValueKind);
    }

    [Fact]
    public void Should_need_the_document_options_to_refuse_repeats()
    {
        // The default silently keeps both, and readers then disagree on which one counts.
        using var lenient = JsonDocument.Parse("""{"content":"a","content":"b"}""");
        Assert.Equal(2, lenient.RootElement.EnumerateObject().Count());
        Assert.False(ImJson.DocumentOptions.AllowDuplicateProperties);
    }

    // ---- a group's AI settings ----

    [Theory]
    [InlineData("""{"mode":"auto"}""", "auto", null)]
    [InlineData("""{"mode":"off","pause_after_doctor_seconds":null}""", "off", null)]
    [InlineData("""{"mode":"auto","pause_after_doctor_seconds":0}""", "auto", 0)]
    [InlineData("""{"mode":"off","pause_after_doctor_seconds":86400}""", "off", 86400)]
    [InlineData("""{"mode":"review","pause_after_doctor_seconds":600}""", "review", 600)]
    public void Should_read_an_ai_mode_and_keep_an_omitted_pause_unset(string body, string mode, int? pause) =>
        Assert.Equal(new SetGroupAiRequest(mode, pause), Accepted(RequestReader.SetGroupAi(Parse(body))));

    [Theory]
    [InlineData("""{}""")]
    [InlineData("""{"mode":null}""")]
    [InlineData("""{"mode":"AUTO"}""")]
    [InlineData("""{"mode":"manual"}""")]
    [InlineData("""{"mode":1}""")]
    public void Should_refuse_a_missing_or_unknown_mode(string body) =>
        AssertInvalid(RequestReader.SetGroupAi(Parse(body)), "mode");

    [Theory]
    [InlineData("-1")]
    [InlineData("86401")]
    [InlineData("1.5")]
    [InlineData("1e2")]
    [InlineData("\"60\"")]
    [InlineData("true")]
    public void Should_refuse_a_pause_that_is_not_a_whole_number_of_seconds_up_to_a_day(string pause) =>
        AssertInvalid(RequestReader.SetGroupAi(Parse($$"""{"mode":"auto","pause_after_doctor_seconds":{{pause}}}""")), "pause_after_doctor_seconds");
}
