using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace ImAkka.Bench;

/// <summary>A group on one target: its id and its members' user ids, the creator first.</summary>
public sealed record BenchGroup(string Id, IReadOnlyList<string> Members);

/// <summary>
/// How the load generator talks to one kind of server. Both answer a send with the stored
/// message (its <c>seq</c> included) and push the same <c>message_sent</c> frame, so everything
/// after the set-up is the same code for both.
/// </summary>
public abstract class Target(Server server)
{
    public Server Server { get; } = server;
    public string Name => Server.Name;

    public abstract Task<BenchGroup> CreateGroup(HttpClient http, IReadOnlyList<string> roles);

    protected abstract string SendPath { get; }

    public HttpRequestMessage Send(string groupId, string senderId, string content)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Server.Base, SendPath))
        {
            Content = Json($$"""{"group_id":"{{groupId}}","content":"{{content}}"}"""),
        };
        request.Headers.Add("X-User-Id", senderId);
        return request;
    }

    protected static ByteArrayContent Json(string json)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    protected static async Task<JsonElement> Post(HttpClient http, Uri uri, string json, string? caller = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = Json(json) };
        if (caller is not null) request.Headers.Add("X-User-Id", caller);
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"POST {uri} answered {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }
}

/// <summary>ImAkka through its public API, in Header mode.</summary>
public sealed class ImAkkaTarget(Server server) : Target(server)
{
    protected override string SendPath => "/api/message/send";

    public async Task<string> CreateUser(HttpClient http, string role) =>
        (await Post(http, new Uri(Server.Base, "/api/user/create"), $$"""{"username":"bench","user_role":"{{role}}"}"""))
            .GetProperty("user_id").GetString()!;

    public override async Task<BenchGroup> CreateGroup(HttpClient http, IReadOnlyList<string> roles)
    {
        var users = new List<string>();
        foreach (var role in roles) users.Add(await CreateUser(http, role == "PATIENT" ? "PATIENT" : "DOCTOR"));
        var group = (await Post(http, new Uri(Server.Base, "/api/group/create"), """{"group_name":"bench"}""", users[0]))
            .GetProperty("group_id").GetString()!;
        for (var i = 1; i < users.Count; i++)
            await Post(http, new Uri(Server.Base, $"/api/group/{group}/members"), $$"""{"user_id":"{{users[i]}}","user_role":"{{roles[i]}}"}""");
        return new BenchGroup(group, users);
    }
}

/// <summary>The bare server (bench/Baselines --mode bare).</summary>
public sealed class BareTarget(Server server) : Target(server)
{
    protected override string SendPath => "/send";

    public override async Task<BenchGroup> CreateGroup(HttpClient http, IReadOnlyList<string> roles)
    {
        var created = await Post(http, new Uri(Server.Base, "/setup/group"), JsonSerializer.Serialize(new { roles }));
        return new BenchGroup(created.GetProperty("group_id").GetString()!,
            [.. created.GetProperty("members").EnumerateArray().Select(m => m.GetString()!)]);
    }
}

public static class Setup
{
    /// <summary>Creates groups a few at a time: set-up is not measured, but it should not take long either.</summary>
    public static async Task<List<BenchGroup>> Groups(Target target, HttpClient http, int count, IReadOnlyList<string> roles)
    {
        var groups = new BenchGroup[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 8 },
            async (i, _) => groups[i] = await target.CreateGroup(http, roles));
        return [.. groups];
    }

    public static IReadOnlyList<string> Doctors(int count) => Enumerable.Repeat("DOCTOR", count).ToList();
}
