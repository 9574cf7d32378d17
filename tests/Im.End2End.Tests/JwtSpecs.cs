using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Im.Contracts;
using Im.TestSupport;

namespace Im.End2End.Tests;

/// <summary><c>Auth__Mode=Jwt</c>: the caller is the <c>sub</c> of an HS256 token, over REST and WebSocket.</summary>
[Collection(EndToEnd.Name)]
public sealed class JwtSpecs
{
    private const string Key = "a-test-signing-key-of-at-least-32-bytes!";

    [Fact]
    public async Task Should_take_the_caller_from_a_valid_token_only()
    {
        await using var host = await HostProcess.Start(new Dictionary<string, string> { ["Auth__Mode"] = "Jwt", ["Auth__JwtKey"] = Key });
        var doctor = await host.Api.CreateUser(UserRoles.Doctor);
        var other = await host.Api.CreateUser(UserRoles.Doctor);

        // The header means nothing in this mode.
        var (noToken, body) = await host.Api.Post("/api/group/create", new { group_name = "g" }, doctor.UserId);
        Assert.Equal(HttpStatusCode.Unauthorized, noToken);
        Assert.Equal(ErrorCodes.Unauthorized, (string?)body!["error"]!["code"]);

        Assert.Equal(HttpStatusCode.Unauthorized, await CreateGroup(host, Token(doctor.UserId, "wrong-key-wrong-key-wrong-key-wrong-key")));
        Assert.Equal(HttpStatusCode.OK, await CreateGroup(host, Token(doctor.UserId, Key)));

        await using var own = await WsClient.Connect(new Uri(host.BaseAddress, $"?access_token={Token(doctor.UserId, Key)}"), doctor.UserId);
        await Assert.ThrowsAsync<WebSocketException>(() =>
            WsClient.Connect(new Uri(host.BaseAddress, $"?access_token={Token(doctor.UserId, Key)}"), other.UserId));
    }

    private static async Task<HttpStatusCode> CreateGroup(HostProcess host, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/group/create")
        {
            Content = new StringContent("{\"group_name\":\"g\"}", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await host.Http.SendAsync(request);
        return response.StatusCode;
    }

    private static string Token(string subject, string key)
    {
        static string Encode(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var header = Encode(JsonSerializer.SerializeToUtf8Bytes(new { alg = "HS256", typ = "JWT" }));
        var payload = Encode(JsonSerializer.SerializeToUtf8Bytes(new { sub = subject, exp = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds() }));
        var signature = Encode(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.ASCII.GetBytes($"{header}.{payload}")));
        return $"{header}.{payload}.{signature}";
    }
}
