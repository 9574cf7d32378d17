using System.Text.Json;
using Im.Contracts;

namespace Im.Contracts.Tests;

public sealed class ImJsonSpecs
{
    [Fact]
    public void Should_write_snake_case_names()
    {
        var json = ImJson.Serialize(new MessageResponse(7, "msg_1", "group_1", "user_1", "TEXT", "hi", 3,
            "2025-01-27T12:00:00", "2025-01-27T12:00:00"));

        Assert.Equal(
            """{"id":7,"message_id":"msg_1","group_id":"group_1","from_user_id":"user_1","msg_type":"TEXT","msg_content":"hi","seq":3,"created_at":"2025-01-27T12:00:00","updated_at":"2025-01-27T12:00:00"}""",
            json);
    }

    [Fact]
    public void Should_write_cjk_text_unescaped()
    {
        var json = ImJson.Serialize(new UserResponse(1, "user_1", "张三", UserRoles.Patient, "2025-01-27T12:00:00", "2025-01-27T12:00:00"));

        Assert.Contains("\"username\":\"张三\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_still_escape_what_json_requires()
    {
        var json = ImJson.Serialize(new UserResponse(1, "user_1", "a\"b\\c\n", UserRoles.Patient, "t", "t"));

        Assert.Contains("""
            "username":"a\"b\\c\n"
            """, json, StringComparison.Ordinal);
        Assert.Equal("a\"b\\c\n", JsonSerializer.Deserialize<UserResponse>(json, ImJson.Options)!.Username);
    }

    [Fact]
    public void Should_write_null_for_absent_description()
    {
        var json = ImJson.Serialize(new GroupResponse(1, "group_1", "g", null, "user_1", "t", "t"));

        Assert.Contains("\"description\":null", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_write_null_for_absent_record_fields()
    {
        var json = ImJson.Serialize(new AiInteractionResponse(1, "record_1", "group_1", "msg_1", null, "http://ai", 0, null, null, "t", "t"));

        Assert.Contains("\"ai_message_id\":null", json, StringComparison.Ordinal);
        Assert.Contains("\"duration_ms\":null", json, StringComparison.Ordinal);
        Assert.Contains("\"error_message\":null", json, StringComparison.Ordinal);
        Assert.Contains("\"ai_service_url\":\"http://ai\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_write_the_error_shape_with_details_object()
    {
        Assert.Equal("""{"error":{"code":"2001","message":"user not found","details":{}}}""",
            ImJson.Serialize(ErrorResponse.From(new ApiError(ErrorCodes.UserNotFound, "user not found"))));
        Assert.Equal("""{"error":{"code":"INVALID_PARAMETER","message":"bad","details":{"field":"username"}}}""",
            ImJson.Serialize(ErrorResponse.From(ApiError.Invalid("username", "bad"))));
    }

    [Fact]
    public void Should_write_frame_type_and_omit_absent_client_msg_id()
    {
        var without = ImJson.Serialize(new MessageSentFrame(1, 1, "msg_1", "group_1", "user_1", "TEXT", "你好", "t", null));
        var with = ImJson.Serialize(new MessageSentFrame(1, 1, "msg_1", "group_1", "user_1", "TEXT", "你好", "t", "c-1"));

        Assert.Contains("\"type\":\"message_sent\"", without, StringComparison.Ordinal);
        Assert.Contains("\"content\":\"你好\"", without, StringComparison.Ordinal);
        Assert.DoesNotContain("client_msg_id", without, StringComparison.Ordinal);
        Assert.Contains("\"client_msg_id\":\"c-1\"", with, StringComparison.Ordinal);
        Assert.Equal("""{"user_id":"u","type":"connected"}""", ImJson.Serialize(new ConnectedFrame("u")));
    }

    [Fact]
    public void Should_read_snake_case_names()
    {
        var member = JsonSerializer.Deserialize<MemberResponse>(
            """{"user_id":"user_1","user_role":"DOCTOR","joined_at":"2025-01-27T12:00:00"}""", ImJson.Options);

        Assert.Equal(new MemberResponse("user_1", "DOCTOR", "2025-01-27T12:00:00"), member);
    }

    [Fact]
    public void Should_be_read_only() => Assert.True(ImJson.Options.IsReadOnly);
}
