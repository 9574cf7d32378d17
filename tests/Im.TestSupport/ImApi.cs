using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Im.Contracts;

namespace Im.TestSupport;

/// <summary>
/// The REST API as a client author sees it: raw status and JSON, plus typed shortcuts for setup.
/// With a <paramref name="bearer"/> token every request carries it (Jwt mode).
/// </summary>
public sealed class ImApi(HttpClient http, string? bearer = null)
{
    /// <summary>The same API, calling with a bearer token.</summary>
    public ImApi WithToken(string token) => new(http, token);

    public async Task<(HttpStatusCode Status, JsonNode? Body)> Send(HttpMethod method, string path, string? json = null,
        string? callerId = null, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, contentType);
        if (callerId is not null) request.Headers.Add("X-User-Id", callerId);
        if (bearer is not null) request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearer);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    public Task<(HttpStatusCode Status, JsonNode? Body)> Post(string path, object body, string? callerId = null) =>
        Send(HttpMethod.Post, path, ImJson.Serialize(body), callerId);

    public Task<(HttpStatusCode Status, JsonNode? Body)> Get(string path) => Send(HttpMethod.Get, path);

    public async Task<UserResponse> CreateUser(string role, string? name = null) =>
        await Ok<UserResponse>(Post("/api/user/create", new { username = name ?? "user-" + role.ToLowerInvariant(), user_role = role }));

    public async Task<GroupResponse> CreateGroup(string creatorId, string name = "consultation") =>
        await Ok<GroupResponse>(Post("/api/group/create", new { group_name = name, description = "test group" }, creatorId));

    public async Task AddMember(string groupId, string userId, string role) =>
        await Ok<AddMemberResponse>(Post($"/api/group/{groupId}/members", new { user_id = userId, user_role = role }));

    /// <summary>A doctor's group with a patient in it: the spec's consultation.</summary>
    public async Task<(UserResponse Doctor, UserResponse Patient, GroupResponse Group)> CreateConsultation(
        string doctorName = "王医生", string patientName = "张三")
    {
        var doctor = await CreateUser(UserRoles.Doctor, doctorName);
        var patient = await CreateUser(UserRoles.Patient, patientName);
        var group = await CreateGroup(doctor.UserId, "医疗咨询群");
        await AddMember(group.GroupId, patient.UserId, UserRoles.Patient);
        return (doctor, patient, group);
    }

    public async Task<MessageResponse> SendMessage(string senderId, string groupId, string content) =>
        await Ok<MessageResponse>(Post("/api/message/send", new { group_id = groupId, content }, senderId));

    public async Task<MessageListResponse> ListMessages(string groupId, int page = 1, int pageSize = 100) =>
        await Ok<MessageListResponse>(Get($"/api/message/list?group_id={groupId}&page={page}&page_size={pageSize}"));

    public async Task<AiInteractionListResponse> ListAiInteractions(string groupId, int pageSize = 100) =>
        await Ok<AiInteractionListResponse>(Get($"/api/ai/interactions?group_id={groupId}&page_size={pageSize}"));

    /// <summary>Sets a group's AI mode (and pause, when given) as <paramref name="callerId"/>.</summary>
    public Task<(HttpStatusCode Status, JsonNode? Body)> SetGroupAi(string groupId, string json, string? callerId) =>
        Send(HttpMethod.Put, $"/api/group/{groupId}/ai", json, callerId);

    /// <summary>Stops an AI reply: no body, so no Content-Type.</summary>
    public Task<(HttpStatusCode Status, JsonNode? Body)> StopAiReply(string recordId, string? callerId) =>
        Send(HttpMethod.Post, $"/api/ai/interactions/{recordId}/stop", null, callerId);

    /// <summary>Retries an AI reply: no body, so no Content-Type.</summary>
    public Task<(HttpStatusCode Status, JsonNode? Body)> RetryAiReply(string recordId, string? callerId) =>
        Send(HttpMethod.Post, $"/api/ai/interactions/{recordId}/retry", null, callerId);

    /// <summary>Every message of the group, oldest first.</summary>
    public async Task<List<MessageResponse>> History(string groupId)
    {
        var all = new List<MessageResponse>();
        for (var page = 1; ; page++)
        {
            var list = await ListMessages(groupId, page, 100);
            all.AddRange(list.Messages);
            if (list.Messages.Count < 100) break;
        }
        all.Reverse();
        return all;
    }

    private static async Task<T> Ok<T>(Task<(HttpStatusCode Status, JsonNode? Body)> call)
    {
        var (status, body) = await call;
        if (status != HttpStatusCode.OK) throw new InvalidOperationException($"expected 200, got {(int)status}: {body?.ToJsonString()}");
        return body.Deserialize<T>(ImJson.Options)!;
    }
}
