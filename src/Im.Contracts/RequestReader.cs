using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Im.Contracts;

/// <summary>
/// Turns a parsed JSON body (REST) or frame (WebSocket) into a request record, or into the
/// spec's error for the first thing wrong with it. Both transports use it, so a bad field gets
/// the same code over HTTP and over WebSocket.
/// </summary>
/// <remarks>
/// Text rules beyond the spec's lengths: names and ids carry no control characters and no bidi
/// embedding, override or isolate controls (they make one name display as another); message
/// content and descriptions may hold tabs, line breaks and any bidi formatting, but no other
/// control character. A lone surrogate is never text.
/// </remarks>
public static class RequestReader
{
    public static Outcome<CreateUserRequest> CreateUser(JsonElement body)
    {
        if (NotAnObject(body) is { } notObject) return notObject;
        if (RequiredName(body, "username", Limits.UsernameMax, out var username) is { } e1) return e1;
        if (RequiredRole(body, out var role) is { } e2) return e2;
        return new CreateUserRequest(username, role);
    }

    public static Outcome<UpdateUserRoleRequest> UpdateUserRole(JsonElement body)
    {
        if (NotAnObject(body) is { } notObject) return notObject;
        if (RequiredRole(body, out var role) is { } e1) return e1;
        return new UpdateUserRoleRequest(role);
    }

    public static Outcome<CreateGroupRequest> CreateGroup(JsonElement body)
    {
        if (NotAnObject(body) is { } notObject) return notObject;
        if (RequiredName(body, "group_name", Limits.GroupNameMax, out var name) is { } e1) return e1;
        if (OptionalText(body, "description", Limits.DescriptionMax, TextKind.Prose, out var description) is { } e2) return e2;
        if (OptionalText(body, "created_by", Limits.IdMax, TextKind.Id, out var createdBy) is { } e3) return e3;
        return new CreateGroupRequest(name, description, createdBy);
    }

    public static Outcome<AddMemberRequest> AddMember(JsonElement body)
    {
        if (NotAnObject(body) is { } notObject) return notObject;
        if (RequiredId(body, "user_id", Limits.MemberUserIdMax, out var userId) is { } e1) return e1;
        if (RequiredRole(body, out var role) is { } e2) return e2;
        return new AddMemberRequest(userId, role);
    }

    public static Outcome<SetGroupAiRequest> SetGroupAi(JsonElement body)
    {
        if (NotAnObject(body) is { } notObject) return notObject;
        if (!body.TryGetProperty("mode", out var modeValue) || modeValue.ValueKind == JsonValueKind.Null)
            return ApiError.Invalid("mode", "mode is required");
        if (!TryReadString(modeValue, out var mode) || mode is not (AiModes.Auto or AiModes.Review or AiModes.Off))
            return ApiError.Invalid("mode", "mode must be one of auto, review, off");
        int? pause = null;
        if (body.TryGetProperty("pause_after_doctor_seconds", out var pauseValue) && pauseValue.ValueKind != JsonValueKind.Null)
        {
            if (pauseValue.ValueKind != JsonValueKind.Number || !TryParseCount(pauseValue.GetRawText(), out var seconds)
                || seconds > Limits.PauseAfterDoctorMax)
                return ApiError.Invalid("pause_after_doctor_seconds", $"pause_after_doctor_seconds must be an integer from 0 to {Limits.PauseAfterDoctorMax}");
            pause = (int)seconds;
        }
        return new SetGroupAiRequest(mode, pause);
    }

    /// <summary>An approval's optional body: <c>content</c>, a doctor's edit of the draft, read as a message's content is.</summary>
    public static Outcome<ApproveDraftRequest> ApproveDraft(JsonElement body)
    {
        if (NotAnObject(body) is { } notObject) return notObject;
        if (!body.TryGetProperty("content", out var value) || value.ValueKind == JsonValueKind.Null) return new ApproveDraftRequest();
        if (!TryReadString(value, out var content)) return ApiError.Invalid("content", "content must be a string of text");
        if (string.IsNullOrWhiteSpace(content)) return new ApiError(ErrorCodes.ContentEmpty, "content must not be empty");
        if (Limits.CountCharacters(content) > Limits.ContentMax)
            return new ApiError(ErrorCodes.ContentTooLong, $"content must be at most {Limits.ContentMax} characters");
        return ForbiddenCharacter(content, TextKind.Prose) is { } problem
            ? ApiError.Invalid("content", $"content {problem}")
            : new ApproveDraftRequest(content);
    }

    /// <summary>The AI records' <c>review_state</c> filter: only <c>pending</c> (the drafts waiting for a doctor).</summary>
    public static ApiError? CheckReviewStateQuery(string? reviewState) =>
        reviewState is null or ReviewStates.Pending ? null : ApiError.Invalid("review_state", "review_state can only be pending");

    /// <param name="idempotencyKey">The <c>Idempotency-Key</c> header, a synonym of the body's <c>client_msg_id</c>.</param>
    public static Outcome<SendMessageRequest> SendMessage(JsonElement body, string? idempotencyKey = null)
    {
        if (NotAnObject(body) is { } notObject) return notObject;
        if (MessageFields(body, out var groupId, out var content, out var msgType) is { } error) return error;
        if (OptionalText(body, "client_msg_id", Limits.ClientMsgIdMax, TextKind.Id, out var clientMsgId) is { } badId) return badId;
        if (idempotencyKey is not null)
        {
            if (CheckText(idempotencyKey, Limits.ClientMsgIdMax, TextKind.Id) is { } problem)
                return ApiError.Invalid("Idempotency-Key", $"the Idempotency-Key header {problem}");
            if (clientMsgId is not null && clientMsgId != idempotencyKey)
                return ApiError.Invalid("client_msg_id", "client_msg_id and the Idempotency-Key header differ");
            clientMsgId = idempotencyKey;
        }
        return new SendMessageRequest(groupId, content, clientMsgId, msgType);
    }

    public static Outcome<SendMessageFrame> SendMessageFrame(JsonElement frame)
    {
        if (NotAnObject(frame) is { } notObject) return notObject;
        if (MessageFields(frame, out var groupId, out var content, out var msgType) is { } error) return error;
        if (OptionalText(frame, "client_msg_id", Limits.ClientMsgIdMax, TextKind.Id, out var clientMsgId) is { } badId) return badId;
        return new SendMessageFrame(groupId, content, clientMsgId, msgType);
    }

    public static Outcome<AiStopFrame> AiStopFrame(JsonElement frame)
    {
        if (NotAnObject(frame) is { } notObject) return notObject;
        if (RequiredId(frame, "record_id", Limits.IdMax, out var recordId) is { } error) return error;
        return string.IsNullOrEmpty(recordId) ? ApiError.Invalid("record_id", "record_id is required") : new AiStopFrame(recordId);
    }

    /// <summary>A frame's <c>client_msg_id</c> when it is a valid one, so that an error about the frame can echo it.</summary>
    public static string? ClientMsgIdOf(JsonElement frame) =>
        frame.ValueKind == JsonValueKind.Object
        && OptionalText(frame, "client_msg_id", Limits.ClientMsgIdMax, TextKind.Id, out var clientMsgId) is null
            ? clientMsgId
            : null;

    /// <summary>A frame's <c>type</c>: a string that is text (a lone surrogate escape is not), or null.</summary>
    public static string? FrameType(JsonElement frame) =>
        frame.ValueKind == JsonValueKind.Object && frame.TryGetProperty("type", out var type) && TryReadString(type, out var text)
            ? text
            : null;

    /// <summary>Validates an id taken from a path or query string before any actor sees it.</summary>
    public static ApiError? CheckId(string field, string? id)
    {
        if (string.IsNullOrEmpty(id))
            return ApiError.Invalid(field, $"{field} is required");
        return CheckText(id, Limits.IdMax, TextKind.Id) is { } problem ? ApiError.Invalid(field, $"{field} {problem}") : null;
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
    public static Outcome<GroupPageRequest> GroupPage(string? groupId, string? page, string? pageSize, string? afterSeq = null)
    {
        if (CheckGroupIdQuery(groupId) is { } invalid) return invalid;
        var paging = Paging(page, pageSize);
        if (paging.Error is { } badPage) return badPage;
        long? after = null;
        if (afterSeq is not null)
        {
            if (!TryParseCount(afterSeq, out var value))
                return ApiError.Invalid("after_seq", "after_seq must be an integer >= 0");
            after = value;
        }
        return new GroupPageRequest(groupId!, paging.Value!, after);
    }

    public static Outcome<PageRequest> Paging(string? page, string? pageSize)
    {
        var pageNumber = 1L;
        if (page is not null && (!TryParseCount(page, out pageNumber) || pageNumber is < 1 or > int.MaxValue))
            return ApiError.Invalid("page", "page must be an integer >= 1");
        var size = (long)Limits.DefaultPageSize;
        if (pageSize is not null && (!TryParseCount(pageSize, out size) || size is < 1 or > Limits.PageSizeMax))
            return ApiError.Invalid("page_size", $"page_size must be an integer from 1 to {Limits.PageSizeMax}");
        return new PageRequest((int)pageNumber, (int)size);
    }

    // ASCII digits and nothing else: .NET's number parsing forgives trailing NULs ("1\0"), and
    // NumberStyles.None still takes other digit forms in some cultures.
    private static bool TryParseCount(string text, out long value)
    {
        value = 0;
        if (text.Length is 0 or > 18) return false;
        foreach (var c in text)
        {
            if (c is < '0' or > '9') return false;
        }
        value = long.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
        return true;
    }

    // content (1001, 1002), group_id (1003), then msg_type: TEXT by default, or IMAGE whose content is a media_id.
    private static ApiError? MessageFields(JsonElement body, out string groupId, out string content, out string msgType)
    {
        groupId = content = "";
        msgType = MessageTypes.Text;
        if (!body.TryGetProperty("content", out var contentValue) || contentValue.ValueKind == JsonValueKind.Null)
            return new ApiError(ErrorCodes.ContentEmpty, "content must not be empty");
        if (!TryReadString(contentValue, out content))
            return ApiError.Invalid("content", "content must be a string of text");
        if (string.IsNullOrWhiteSpace(content))
            return new ApiError(ErrorCodes.ContentEmpty, "content must not be empty");
        if (Limits.CountCharacters(content) > Limits.ContentMax)
            return new ApiError(ErrorCodes.ContentTooLong, $"content must be at most {Limits.ContentMax} characters");
        if (ForbiddenCharacter(content, TextKind.Prose) is { } problem)
            return ApiError.Invalid("content", $"content {problem}");

        if (!body.TryGetProperty("group_id", out var groupValue) || groupValue.ValueKind == JsonValueKind.Null)
            return new ApiError(ErrorCodes.GroupIdEmpty, "group_id must not be empty");
        if (!TryReadString(groupValue, out groupId))
            return ApiError.Invalid("group_id", "group_id must be a string of text");
        if (CheckGroupIdQuery(groupId) is { } badGroup) return badGroup;

        if (body.TryGetProperty("msg_type", out var typeValue) && typeValue.ValueKind != JsonValueKind.Null)
        {
            if (!TryReadString(typeValue, out msgType) || msgType is not (MessageTypes.Text or MessageTypes.Image))
                return ApiError.Invalid("msg_type", "msg_type must be TEXT or IMAGE");
        }
        if (msgType == MessageTypes.Image && CheckText(content, Limits.IdMax, TextKind.Id) is not null)
            return ApiError.Invalid("content", "the content of an IMAGE message is the media_id of an image uploaded to the group");
        return null;
    }

    private static ApiError? NotAnObject(JsonElement body) =>
        body.ValueKind == JsonValueKind.Object ? null : new ApiError(ErrorCodes.InvalidParameter, "the body must be a JSON object");

    private static ApiError? RequiredName(JsonElement body, string field, int max, out string text)
    {
        if (RequiredId(body, field, max, out text) is { } error) return error;
        return string.IsNullOrWhiteSpace(text) ? ApiError.Invalid(field, $"{field} must not be blank") : null;
    }

    private static ApiError? RequiredId(JsonElement body, string field, int max, out string text)
    {
        if (OptionalText(body, field, max, TextKind.Id, out var value) is { } error)
        {
            text = "";
            return error;
        }
        text = value ?? "";
        return value is null ? ApiError.Invalid(field, $"{field} is required") : null;
    }

    private static ApiError? OptionalText(JsonElement body, string field, int max, TextKind kind, out string? text)
    {
        text = null;
        if (!body.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (!TryReadString(value, out var read))
            return ApiError.Invalid(field, $"{field} must be a string of text");
        if (CheckText(read, max, kind) is { } problem)
            return ApiError.Invalid(field, $"{field} {problem}");
        text = read;
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

    private enum TextKind
    {
        /// <summary>Names and ids: no control characters, no bidi embedding/override/isolate.</summary>
        Id,

        /// <summary>Content and descriptions: may be empty (content's emptiness is its own 1001); tabs, line breaks and bidi formatting allowed.</summary>
        Prose,
    }

    // What is wrong with the text, as the end of a sentence starting with the field's name, or null.
    private static string? CheckText(string text, int max, TextKind kind)
    {
        var length = Limits.CountCharacters(text);
        // A description may be empty (spec 2.2.1: 可为空); an id or a name may not.
        if ((length == 0 && kind == TextKind.Id) || length > max) return $"must be 1 to {max} characters";
        return ForbiddenCharacter(text, kind);
    }

    private static string? ForbiddenCharacter(string text, TextKind kind)
    {
        // Runes read a lone surrogate as U+FFFD, so two different ids would look alike (and share a key).
        if (HasLoneSurrogate(text)) return "must not contain a lone surrogate";
        foreach (var rune in text.EnumerateRunes())
        {
            var value = rune.Value;
            if (kind == TextKind.Prose && value is '\t' or '\n' or '\r') continue;
            if (Rune.GetUnicodeCategory(rune) == UnicodeCategory.Control)
                return kind == TextKind.Prose
                    ? "must not contain control characters other than tabs and line breaks"
                    : "must not contain control characters";
            if (kind == TextKind.Id && value is (>= 0x202A and <= 0x202E) or (>= 0x2066 and <= 0x2069))
                return "must not contain bidi embedding, override or isolate characters";
        }
        return null;
    }

    private static bool HasLoneSurrogate(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (!char.IsSurrogate(text[i])) continue;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
            else return true;
        }
        return false;
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
