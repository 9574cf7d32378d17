using System.Net.Http.Headers;
using Im.Contracts;
using Im.TestSupport;

namespace Im.Host.Tests;

/// <summary>
/// Two hosts, each judged by the document it serves: one in Header mode (with a small image limit
/// and a send rate, so 413 and 429 can be met) and one in Jwt mode.
/// </summary>
public sealed class OpenApiFixture : IAsyncLifetime
{
    public const string JwtKey = "an-openapi-spec-signing-key-of-32-bytes+";
    public const int MediaMaxBytes = 100_000;
    public const int SendBurst = 30;

    /// <summary>Sent in setup with this <c>client_msg_id</c>, so that another content under it is a 409.</summary>
    public const string UsedClientMsgId = "openapi-used";

    public HostProcess Host { get; private set; } = null!;
    public HostProcess JwtHost { get; private set; } = null!;
    public OpenApiContract Contract { get; private set; } = null!;
    public OpenApiContract JwtContract { get; private set; } = null!;
    public UserResponse Doctor { get; private set; } = null!;
    public UserResponse Patient { get; private set; } = null!;
    public UserResponse Outsider { get; private set; } = null!;
    public GroupResponse Group { get; private set; } = null!;
    public MessageResponse Message { get; private set; } = null!;
    public MediaResponse Media { get; private set; } = null!;

    public ImApi Api => Host.Api;

    public async Task InitializeAsync()
    {
        var starting = HostProcess.Start(new Dictionary<string, string>
        {
            ["Auth__Mode"] = "Jwt",
            ["Auth__JwtKey"] = JwtKey,
        });
        Host = await HostProcess.Start(new Dictionary<string, string>
        {
            ["Im__MediaMaxBytes"] = MediaMaxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Im__SendRatePerSecond"] = "1",
            ["Im__SendBurst"] = SendBurst.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // The built-in AI takes about three seconds a reply, so a record opened for a call stays open for it.
            ["Ai__StandInChunkDelayMs"] = "200",
        });
        JwtHost = await starting;
        Contract = await OpenApiContract.Load(Host.Http);
        JwtContract = await OpenApiContract.Load(JwtHost.Http);

        Doctor = await Api.CreateUser(UserRoles.Doctor, "王医生");
        Patient = await Api.CreateUser(UserRoles.Patient, "张三");
        Outsider = await Api.CreateUser(UserRoles.Patient);
        Group = await Api.CreateGroup(Doctor.UserId, "医疗咨询群");
        await Api.AddMember(Group.GroupId, Patient.UserId, UserRoles.Patient);
        Message = await Api.SendMessage(Doctor.UserId, Group.GroupId, "hello");
        await Api.Post("/api/message/send", new { group_id = Group.GroupId, content = "first", client_msg_id = UsedClientMsgId }, Doctor.UserId);
        using var upload = new HttpRequestMessage(HttpMethod.Post, $"/api/media?group_id={Group.GroupId}")
        {
            Content = new ByteArrayContent(TestImages.Png()) { Headers = { ContentType = new MediaTypeHeaderValue(MediaTypes.Png) } },
        };
        upload.Headers.Add("X-User-Id", Doctor.UserId);
        using var uploaded = await Host.Http.SendAsync(upload);
        Media = (await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync<MediaResponse>(uploaded.Content, ImJson.Options))!;
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await JwtHost.DisposeAsync();
    }

    /// <summary>
    /// Replaces {doctor}, {patient}, {outsider}, {group}, {message} and {media} with the fixture's ids;
    /// {fresh} with a new user and {fresh_member} with a new member of the group, for calls that change them;
    /// {open_record} with the record of a new patient's message whose reply is being written, and
    /// {stopped_record} with one the patient stopped; {draft_record} with a record of a group in review
    /// mode whose draft waits for its doctor (the same doctor and patient).
    /// </summary>
    public async Task<string> Fill(string template)
    {
        var filled = template
            .Replace("{group}", Group.GroupId, StringComparison.Ordinal)
            .Replace("{doctor}", Doctor.UserId, StringComparison.Ordinal)
            .Replace("{patient}", Patient.UserId, StringComparison.Ordinal)
            .Replace("{outsider}", Outsider.UserId, StringComparison.Ordinal)
            .Replace("{message}", Message.MessageId, StringComparison.Ordinal)
            .Replace("{media}", Media.MediaId, StringComparison.Ordinal);
        if (filled.Contains("{fresh}", StringComparison.Ordinal))
            filled = filled.Replace("{fresh}", (await Api.CreateUser(UserRoles.Patient)).UserId, StringComparison.Ordinal);
        if (filled.Contains("{fresh_member}", StringComparison.Ordinal))
        {
            var member = await Api.CreateUser(UserRoles.Patient);
            await Api.AddMember(Group.GroupId, member.UserId, UserRoles.Patient);
            filled = filled.Replace("{fresh_member}", member.UserId, StringComparison.Ordinal);
        }
        if (filled.Contains("{open_record}", StringComparison.Ordinal))
            filled = filled.Replace("{open_record}", await OpenRecord(), StringComparison.Ordinal);
        if (filled.Contains("{stopped_record}", StringComparison.Ordinal))
        {
            var recordId = await OpenRecord();
            var (status, body) = await Api.StopAiReply(recordId, Patient.UserId);
            if (status != System.Net.HttpStatusCode.OK) throw new InvalidOperationException($"stopping {recordId}: {(int)status} {body?.ToJsonString()}");
            filled = filled.Replace("{stopped_record}", recordId, StringComparison.Ordinal);
        }
        if (filled.Contains("{draft_record}", StringComparison.Ordinal))
            filled = filled.Replace("{draft_record}", await DraftRecord(), StringComparison.Ordinal);
        return filled;
    }

    private async Task<string> DraftRecord()
    {
        var group = await Api.CreateGroup(Doctor.UserId, "审核群");
        await Api.AddMember(group.GroupId, Patient.UserId, UserRoles.Patient);
        var (status, body) = await Api.SetGroupAi(group.GroupId, """{"mode":"review"}""", Doctor.UserId);
        if (status != System.Net.HttpStatusCode.OK) throw new InvalidOperationException($"review mode: {(int)status} {body?.ToJsonString()}");
        var asked = await Api.SendMessage(Patient.UserId, group.GroupId, "a question for review");
        string? recordId = null;
        await Eventually.True(async () =>
        {
            var record = (await Api.ListAiInteractions(group.GroupId)).Records.Single(r => r.UserMessageId == asked.MessageId);
            recordId = record.RecordId;
            return record.ReviewState == ReviewStates.Pending;
        }, TimeSpan.FromSeconds(30), "the draft to wait for review");
        return recordId!;
    }

    private async Task<string> OpenRecord()
    {
        var asked = await Api.SendMessage(Patient.UserId, Group.GroupId, "a question " + Guid.NewGuid().ToString("N"));
        var records = await Api.ListAiInteractions(Group.GroupId);
        return records.Records.Single(r => r.UserMessageId == asked.MessageId).RecordId;
    }
}
