using System.Net;
using System.Net.WebSockets;
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
        var admin = host.Api.WithToken(Jwt.Mint(Key, "ops", admin: true));
        var doctor = await admin.CreateUser(UserRoles.Doctor);
        var other = await admin.CreateUser(UserRoles.Doctor);

        // The header means nothing in this mode.
        var (noToken, body) = await host.Api.Post("/api/group/create", new { group_name = "g" }, doctor.UserId);
        Assert.Equal(HttpStatusCode.Unauthorized, noToken);
        Assert.Equal(ErrorCodes.Unauthorized, (string?)body!["error"]!["code"]);

        var forged = host.Api.WithToken(Jwt.Mint("wrong-key-wrong-key-wrong-key-wrong-key", doctor.UserId));
        Assert.Equal(HttpStatusCode.Unauthorized, (await forged.Post("/api/group/create", new { group_name = "g" })).Status);
        var group = await host.Api.WithToken(Jwt.Mint(Key, doctor.UserId)).Post("/api/group/create", new { group_name = "g" });
        Assert.Equal(HttpStatusCode.OK, group.Status);
        Assert.Equal(doctor.UserId, (string?)group.Body!["created_by"]);

        await using var own = await WsClient.Connect(new Uri(host.BaseAddress, $"?access_token={Jwt.Mint(Key, doctor.UserId)}"), doctor.UserId);
        await Assert.ThrowsAsync<WebSocketException>(() =>
            WsClient.Connect(new Uri(host.BaseAddress, $"?access_token={Jwt.Mint(Key, doctor.UserId)}"), other.UserId));
    }
}
