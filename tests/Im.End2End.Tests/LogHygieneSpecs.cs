using System.Net;
using System.Net.WebSockets;
using Im.Contracts;
using Im.TestSupport;

namespace Im.End2End.Tests;

/// <summary>
/// Health data and secrets never reach a log line, at any level: message content, tokens (in
/// headers or in <c>?access_token=</c>), the JWT key and the AI key are canaries, and the host's
/// whole output at Trace must not contain one of them.
/// </summary>
[Collection(EndToEnd.Name)]
public sealed class LogHygieneSpecs(E2EFixture fixture)
{
    [Fact]
    public async Task Should_log_no_content_token_or_key_even_at_trace_level()
    {
        var canary = Guid.NewGuid().ToString("N");
        var jwtKey = $"CANARY-JWT-KEY-{canary}";
        var aiKey = $"CANARY-AI-KEY-{canary}";
        var content = $"CANARY-CONTENT-{canary} 我胸口疼";
        var host = await HostProcess.Start(new Dictionary<string, string>
        {
            ["Auth__Mode"] = "Jwt",
            ["Auth__JwtKey"] = jwtKey,
            ["Ai__Endpoint"] = fixture.Ai.Url,
            ["Ai__ApiKey"] = aiKey,
            ["Logging__LogLevel__Default"] = "Trace",
            ["Logging__LogLevel__Microsoft.AspNetCore"] = "Trace",
            ["Logging__LogLevel__Microsoft.Extensions.Diagnostics.HealthChecks"] = "Trace",
            ["Logging__LogLevel__Akka"] = "Trace",
        });
        var tokens = new List<string>();
        string Token(string subject, bool admin = false, DateTimeOffset? expires = null, string? key = null)
        {
            var token = Jwt.Mint(key ?? jwtKey, subject, admin, expires);
            tokens.Add(token);
            return token;
        }
        try
        {
            var admin = host.Api.WithToken(Token("ops", admin: true));
            var doctor = await admin.CreateUser(UserRoles.Doctor);
            var patient = await admin.CreateUser(UserRoles.Patient);
            var group = (string)(await admin.Post("/api/group/create", new { group_name = "g", created_by = doctor.UserId })).Body!["group_id"]!;
            await admin.AddMember(group, patient.UserId, UserRoles.Patient);
            var asPatient = host.Api.WithToken(Token(patient.UserId));

            await using var doctorSocket = await WsClient.Connect(new Uri(host.BaseAddress, $"?access_token={Token(doctor.UserId)}"), doctor.UserId);
            await using (var patientSocket = await WsClient.Connect(new Uri(host.BaseAddress, $"?access_token={Token(patient.UserId)}"), patient.UserId))
            {
                await patientSocket.SendJson(new { type = FrameTypes.SendMessage, group_id = group, content, client_msg_id = "canary-ws" });
                await patientSocket.SendJson(new { type = FrameTypes.SendMessage, group_id = group, content = content + "\u0000", client_msg_id = "bad" });
                await patientSocket.SendText($$"""{"type":"nonsense","content":"{{content}}"}""");
                await patientSocket.NextOfType(FrameTypes.Error);
            }
            // The AI is called with the content (and the AI key), its reply stored and pushed.
            Assert.Equal(HttpStatusCode.OK, (await asPatient.Post("/api/message/send", new { group_id = group, content, client_msg_id = "canary" })).Status);
            Assert.Equal(HttpStatusCode.OK, (await asPatient.Post("/api/message/send", new { group_id = group, content, client_msg_id = "canary" })).Status);
            Assert.Equal(HttpStatusCode.Conflict, (await asPatient.Post("/api/message/send", new { group_id = group, content = content + "!", client_msg_id = "canary" })).Status);
            Assert.Equal(HttpStatusCode.BadRequest, (await asPatient.Post("/api/message/send", new { group_id = group, content = new string('长', 5001) + content })).Status);
            await doctorSocket.NextOfType(FrameTypes.AiReply, TimeSpan.FromSeconds(30));

            // Refused tokens, in headers and in the socket's query.
            foreach (var bad in new[]
            {
                Token(patient.UserId, key: $"CANARY-WRONG-KEY-{canary}"),
                Token(patient.UserId, expires: DateTimeOffset.UtcNow.AddHours(-1)),
                Token("user_20250101000000_nobody00"),
            })
            {
                Assert.Equal(HttpStatusCode.Unauthorized, (await host.Api.WithToken(bad).Get($"/api/group/{group}")).Status);
                await Assert.ThrowsAsync<WebSocketException>(() => WsClient.Connect(new Uri(host.BaseAddress, $"?access_token={bad}"), patient.UserId));
            }
            Assert.Equal(HttpStatusCode.OK, (await asPatient.Get($"/api/message/list?group_id={group}")).Status);
        }
        finally
        {
            await host.DisposeAsync();
        }

        var log = host.Output;
        Assert.Contains("trce:", log, StringComparison.Ordinal); // it really ran at Trace
        Assert.DoesNotContain("CANARY", log, StringComparison.Ordinal);
        Assert.DoesNotContain(canary, log, StringComparison.Ordinal);
        foreach (var token in tokens)
        {
            Assert.DoesNotContain(token, log, StringComparison.Ordinal);
            Assert.DoesNotContain(token.Split('.')[2], log, StringComparison.Ordinal);
        }
    }
}
