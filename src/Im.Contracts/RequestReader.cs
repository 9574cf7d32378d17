using System.Text.Json;

namespace Im.Contracts;

/// <summary>
/// Turns a parsed JSON body (REST) or frame (WebSocket) into a request record, or into the
/// spec's error for the first thing wrong with it. Both transports use it, so a bad field gets
/// the same code over HTTP and over WebSocket.
/// </summary>
public static class RequestReader
{
    public static Parsed<CreateUserRequest> CreateUser(JsonElement body)
    {
        if (NotAnObject(body) is { } notObject) return notObject;
        if (RequiredText(body, "username", Limits.UsernameMax, out var username) is { } e1) return e1;
        if (RequiredRole(body, out var role) is { } e2) return e2;
        return new CreateUserRequest(username, role);
    }

    public static Parsed<UpdateUserRoleRequest> UpdateUserRole(JsonElement body)
    {
        if (NotAnObject(body) is { } notObject) return notObject;
        if (RequiredRole(body, out var role) is { } e1) return e1;
        return new UpdateUserRoleRequest(role);
    }

    public static Parsed<CreateGroupRequest> CreateGroup(JsonElement body)
    {
        if (NotAnObject(body) is { } notObject) return notObject;
        if (RequiredText(body, "group_name", Limits.GroupNameMax, out var name) is { } e1) return e1;
        string? description = null;
        if (body.TryGetProperty("description", out var value) && value.ValueKind != JsonValueKind.Null)
        {
            if (!TryReadString(value, out var text))
                return ApiError.Invalid("description", "description must be a string or null");
            if (Limits.CountCharacters(text) > Limits.DescriptionMax)
                return ApiError.Invalid("description", $"description must be at most {Limits.DescriptionMax} characters");
            description = text;
        }
        return new CreateGroupRequest(name, description);
    }

    public static Parsed<AddMemberRequest> AddMember(JsonElement body)
    {
        if (NotAnObject(body) is { } notObject) return notObject;
        if (RequiredText(body, "user_id", Limits.MemberUserIdMax, out var userId) is { } e1) return e1;
        if (RequiredRole(body, out var role) is { } e2) return e2;
        return new AddMemberRequest(userId, role);
    }

    public static Parsed<SendMessageRequest> SendMessage(JsonElement body)
    {
        if (NotAnObject(body) is { } notObject) return notObject;
        if (MessageFields(body, out var groupId, out var content) is { } error) return error;
        return new SendMessageRequest(groupId, content);
    }

    public static Parsed<SendMessageFrame> SendMessageFrame(JsonElement frame)
    {
        if (NotAnObject(frame) is { } notObject) return notObject;
        if (MessageFields(frame, out var groupId, out var content) is { } error) return error;
        string? clientMsgId = null;
        if (frame.TryGetProperty("client_msg_id", out var value) && value.ValueKind != JsonValueKind.Null)
        {
            if (!TryReadString(value, out var text) || Limits.CountCharacters(text) > Limits.ClientMsgIdMax)
                return ApiError.Invalid("client_msg_id", $"client_msg_id must be a string of at most {Limits.ClientMsgIdMax} characters");
            clientMsgId = text;
        }
        return new SendMessageFrame(groupId, content, clientMsgId);
    }

    /// <summary>Validates an id taken from a path or query string before any actor sees it.</summary>
    public static ApiError? CheckId(string field, string? id)
    {
        if (string.IsNullOrEmpty(id))
            return ApiError.Invalid(field, $"{field} is required");
        if (Limits.CountCharacters(id) > Limits.IdMax)
            return ApiError.Invalid(field, $"{field} must be at most {Limits.IdMax} characters");
        return null;
    }

    /// <summary>Reads <c>group_id</c> of the list endpoints: missing or empty is the spec's 1003.</summary>
    public static ApiError? CheckGroupIdQuery(string? groupId) =>
        string.IsNullOrEmpty(groupId)
            ? new ApiError(ErrorCodes.GroupIdEmpty, "group_id must not be empty")
            : CheckId("group_id", groupId);

    /// <summary>
    /// The query of the list endpoints: a group id (1003 when missing), a page, and for messages an
    /// optional <c>after_seq</c> (an integer ≥ 0) that turns the page into a catch-up, oldest first.
    /// </summary>
    public static Parsed<GroupPageRequest> GroupPage(string? groupId, string? page, string? pageSize, string? afterSeq = null)
    {
        if (CheckGroupIdQuery(groupId) is { } invalid) return invalid;
        var paging = Paging(page, pageSize);
        if (paging.Error is { } badPage) return badPage;
        long? after = null;
        if (afterSeq is not null)
        {
            if (!long.TryParse(afterSeq, System.Globalization.NumberStyles.None, null, out var value))
                return ApiError.Invalid("after_seq", "after_seq must be an integer >= 0");
            after = value;
        }
        return new GroupPageRequest(groupId!, paging.Value!, after);
    }

    public static Parsed<PageRequest> Paging(string? page, string? pageSize)
    {
        var pageNumber = 1;
        if (page is not null && (!int.TryParse(page, System.Globalization.NumberStyles.None, null, out pageNumber) || pageNumber < 1))
            return ApiError.Invalid("page", "page must be an integer >= 1");
        var size = Limits.DefaultPageSize;
        if (pageSize is not null && (!int.TryParse(pageSize, System.Globalization.NumberStyles.None, null, out size) || size < 1 || size > Limits.PageSizeMax))
            return ApiError.Invalid("page_size", $"page_size must be an integer from 1 to {Limits.PageSizeMax}");
        return new PageRequest(pageNumber, size);
    }

    private static ApiError? MessageFields(JsonElement body, out string groupId, out string content)
    {
        groupId = content = "";
        if (!body.TryGetProperty("content", out var contentValue) || contentValue.ValueKind == JsonValueKind.Null)
            return new ApiError(ErrorCodes.ContentEmpty, "content must not be empty");
        if (!TryReadString(contentValue, out content))
            return ApiError.Invalid("content", "content must be a string");
        if (string.IsNullOrWhiteSpace(content))
            return new ApiError(ErrorCodes.ContentEmpty, "content must not be empty");
        if (Limits.CountCharacters(content) > Limits.ContentMax)
            return new ApiError(ErrorCodes.ContentTooLong, $"content must be at most {Limits.ContentMax} characters");

        if (!body.TryGetProperty("group_id", out var groupValue) || groupValue.ValueKind == JsonValueKind.Null)
            return new ApiError(ErrorCodes.GroupIdEmpty, "group_id must not be empty");
        if (!TryReadString(groupValue, out groupId))
            return ApiError.Invalid("group_id", "group_id must be a string");
        return CheckGroupIdQuery(groupId);
    }

    private static ApiError? NotAnObject(JsonElement body) =>
        body.ValueKind == JsonValueKind.Object ? null : new ApiError(ErrorCodes.InvalidParameter, "the body must be a JSON object");

    private static ApiError? RequiredText(JsonElement body, string field, int max, out string text)
    {
        text = "";
        if (!body.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
            return ApiError.Invalid(field, $"{field} is required");
        if (!TryReadString(value, out text))
            return ApiError.Invalid(field, $"{field} must be a string");
        if (string.IsNullOrWhiteSpace(text) || Limits.CountCharacters(text) > max)
            return ApiError.Invalid(field, $"{field} must be 1 to {max} characters and not blank");
        return null;
    }

    private static ApiError? RequiredRole(JsonElement body, out string role)
    {
        role = "";
        if (!body.TryGetProperty("user_role", out var value) || value.ValueKind == JsonValueKind.Null)
            return ApiError.Invalid("user_role", "user_role is required");
        if (!TryReadString(value, out role) || !UserRoles.IsValid(role))
            return ApiError.Invalid("user_role", "user_role must be one of PATIENT, DOCTOR, AI_ASSISTANT");
        return null;
    }

    private static bool TryReadString(JsonElement value, out string text)
    {
        text = "";
        if (value.ValueKind != JsonValueKind.String) return false;
        try
        {
            text = value.GetString() ?? "";
            return true;
        }
        catch (InvalidOperationException)
        {
            // A lone surrogate escape such as "\ud800" is valid JSON syntax but not text.
            return false;
        }
    }
}

public sealed record PageRequest(int Page, int PageSize)
{
    public long Skip => (long)(Page - 1) * PageSize;
}

public sealed record GroupPageRequest(string GroupId, PageRequest Page, long? AfterSeq = null);

/// <summary>Either a value or the error that stopped it.</summary>
public readonly struct Parsed<T> where T : class
{
    private Parsed(T? value, ApiError? error) => (Value, Error) = (value, error);

    public T? Value { get; }
    public ApiError? Error { get; }

    public static implicit operator Parsed<T>(T value) => new(value, null);
    public static implicit operator Parsed<T>(ApiError error) => new(null, error);
}
