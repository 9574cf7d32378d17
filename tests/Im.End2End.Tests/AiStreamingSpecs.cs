using System.Net;
using System.Text.Json.Nodes;
using Im.Contracts;
using Im.TestSupport;
using static Im.End2End.Tests.FrameLabels;

namespace Im.End2End.Tests;

/// <summary>
/// DESIGN.md, "Streaming, states, stop, retry", as clients see it: the <c>ai_state</c> and
/// <c>ai_delta</c> frames on real sockets, stop and retry over REST and the socket, their refusals,
/// and the circuit breaker. Streams that end on their own run on the shared host (2 s AI timeout);
/// stops and retries of <c>#trickle</c> replies on a host of this class with a 10 s timeout, so a
/// retried reply completes; the breaker on a host of its own.
/// </summary>
[Collection(EndToEnd.Name)]
public sealed class AiStreamingSpecs(E2EFixture shared, TrickleHost streaming) : IClassFixture<TrickleHost>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Should_stream_states_and_pieces_in_order_to_the_patient_and_the_doctor()
    {
        var api = shared.Api;
        var (doctor, patient, group) = await api.CreateConsultation();
        await using var patientSocket = await shared.Connect(patient.UserId);
        await using var doctorSocket = await shared.Connect(doctor.UserId);
        const string question = "What helps against a headache that comes back every afternoon?";
        var sent = await api.SendMessage(patient.UserId, group.GroupId, question);

        var seen = new List<List<JsonNode>>();
        foreach (var socket in new[] { patientSocket, doctorSocket })
        {
            var frames = await OneReply(socket);
            seen.Add(frames);
            var deltas = frames.Where(IsDelta).ToList();
            Assert.NotEmpty(deltas);
            Assert.Equal(
                ["message_sent", "ai_state thinking", "ai_state generating", .. DeltaLabels(deltas.Count), "ai_reply", "ai_state done"],
                frames.Select(Label));
            Assert.Equal(sent.MessageId, (string?)frames[0]["message_id"]);
            var reply = frames.Single(f => Type(f) == FrameTypes.AiReply);
            Assert.Equal(sent.MessageId, (string?)reply["user_message_id"]);
            Assert.Equal("AI: " + question, (string?)reply["content"]);
            Assert.Equal((string?)reply["content"], string.Concat(deltas.Select(d => (string?)d["text"])));
            AssertOneRecord(frames, group.GroupId, sent.MessageId);
            Assert.All(frames.Where(IsState), f => Assert.Null(f["code"]));
        }
        // The same frames reach both members.
        Assert.Equal(seen[0].Select(f => f.ToJsonString()), seen[1].Select(f => f.ToJsonString()));

        var recordId = RecordIdOf(seen[0]);
        var record = Assert.Single((await api.ListAiInteractions(group.GroupId)).Records);
        Assert.Equal((recordId, AiRecordStatus.Succeeded, 1, AiModes.Auto), (record.RecordId, record.Status, record.Attempts, record.AiMode));
        Assert.Equal((1L, 1L), (record.ContextFromSeq, record.ContextToSeq));
        var request = shared.Ai.Requests.Single(r => StandInAiServer.LastText(r).Contains(question, StringComparison.Ordinal));
        Assert.Equal((string?)request["model"], record.Model);
        Assert.True((bool)request["stream"]!, "the host asks for a streamed answer");
        var history = await api.History(group.GroupId);
        Assert.Equal([(MessageTypes.Text, question), (MessageTypes.AiReply, "AI: " + question)], history.Select(m => (m.MsgType, m.MsgContent)));
        Assert.Equal(record.AiMessageId, history[1].MessageId);
        Assert.Equal((string?)seen[0].Single(f => Type(f) == FrameTypes.AiReply)["message_id"], history[1].MessageId);

        // At most one piece per 100 ms, then what is left: the stand-in's pieces, 10 ms apart, come gathered.
        var deltaCount = seen[0].Count(IsDelta);
        Assert.True(deltaCount < PiecesStreamed("AI: " + question), $"{deltaCount} deltas for {PiecesStreamed("AI: " + question)} pieces");
        Assert.True(deltaCount <= 2 + record.DurationMs!.Value / 100, $"{deltaCount} deltas in {record.DurationMs} ms");
    }

    [Fact]
    public async Task Should_send_an_answer_given_in_one_body_as_exactly_one_piece()
    {
        var api = shared.Api;
        var (doctor, patient, group) = await api.CreateConsultation();
        await using var doctorSocket = await shared.Connect(doctor.UserId);
        var sent = await api.SendMessage(patient.UserId, group.GroupId, "one body please #plain");

        var frames = await OneReply(doctorSocket);
        Assert.Equal(["message_sent", "ai_state thinking", "ai_state generating", "ai_delta 0", "ai_reply", "ai_state done"], frames.Select(Label));
        Assert.Equal("AI: one body please #plain", (string?)frames.Single(IsDelta)["text"]);
        Assert.Equal("AI: one body please #plain", (string?)frames.Single(f => Type(f) == FrameTypes.AiReply)["content"]);
        AssertOneRecord(frames, group.GroupId, sent.MessageId);
    }

    /// <summary>A stream cut short fails with 4001 and stores nothing; the doctor's retry sends the same request and fails the same way.</summary>
    [Fact]
    public async Task Should_fail_a_broken_stream_with_4001_and_retry_it_with_the_same_context()
    {
        var api = shared.Api;
        var (doctor, patient, group) = await api.CreateConsultation();
        await using var doctorSocket = await shared.Connect(doctor.UserId);
        var question = $"cut me short {Guid.NewGuid():N} #break";
        var sent = await api.SendMessage(patient.UserId, group.GroupId, question);

        var frames = await OneReply(doctorSocket);
        var deltas = frames.Where(IsDelta).ToList();
        Assert.Equal(["message_sent", "ai_state thinking", "ai_state generating", .. DeltaLabels(deltas.Count), "ai_state failed 4001"],
            frames.Select(Label));
        Assert.StartsWith(string.Concat(deltas.Select(d => (string?)d["text"])), "AI: " + question);
        var recordId = AssertOneRecord(frames, group.GroupId, sent.MessageId);
        var record = Assert.Single((await api.ListAiInteractions(group.GroupId)).Records);
        Assert.Equal((AiRecordStatus.Failed, "4001: the stream ended before [DONE]", 1), (record.Status, record.ErrorMessage, record.Attempts));
        Assert.Null(record.AiMessageId);

        var (status, body) = await api.RetryAiReply(recordId, doctor.UserId);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal((recordId, AiRecordStatus.Pending, 2), ((string?)body!["record_id"], (int)body["status"]!, (int)body["attempts"]!));
        var retried = await OneReply(doctorSocket, startsWithMessage: false);
        Assert.Equal(["ai_state thinking", "ai_state generating", .. DeltaLabels(retried.Count(IsDelta)), "ai_state failed 4001"],
            retried.Select(Label));
        Assert.Equal(recordId, RecordIdOf(retried));
        record = Assert.Single((await api.ListAiInteractions(group.GroupId)).Records);
        Assert.Equal((AiRecordStatus.Failed, "4001: the stream ended before [DONE]", 2), (record.Status, record.ErrorMessage, record.Attempts));

        var requests = shared.Ai.Requests.Where(r => StandInAiServer.LastText(r).Contains(question, StringComparison.Ordinal)).ToList();
        Assert.Equal(2, requests.Count);
        Assert.True(JsonNode.DeepEquals(requests[0], requests[1]), "the retry sends exactly the first attempt's request");
        Assert.DoesNotContain(await api.History(group.GroupId), m => m.MsgType == MessageTypes.AiReply);
    }

    [Fact]
    public async Task Should_fail_a_stream_that_hangs_with_4002_when_the_host_gives_up()
    {
        var api = shared.Api;
        var (doctor, patient, group) = await api.CreateConsultation();
        await using var doctorSocket = await shared.Connect(doctor.UserId);
        var abandoned = shared.Ai.Abandoned;
        var sent = await api.SendMessage(patient.UserId, group.GroupId, "say one word and wait #hang");

        var frames = await OneReply(doctorSocket);
        Assert.Equal(["message_sent", "ai_state thinking", "ai_state generating", "ai_delta 0", "ai_state failed 4002"], frames.Select(Label));
        AssertOneRecord(frames, group.GroupId, sent.MessageId);
        var record = Assert.Single((await api.ListAiInteractions(group.GroupId)).Records);
        Assert.Equal((AiRecordStatus.Failed, "4002: no answer within 2 s"), (record.Status, record.ErrorMessage));
        Assert.InRange(record.DurationMs!.Value, 1900, 10_000);
        // Giving up closes the connection: the service is not left answering.
        await Eventually.True(() => shared.Ai.Abandoned > abandoned, Wait, "the stand-in to see the connection closed");
        Assert.DoesNotContain(await api.History(group.GroupId), m => m.MsgType == MessageTypes.AiReply);
    }

    [Fact]
    public async Task Should_stop_a_reply_over_rest_store_nothing_and_complete_it_once_on_retry()
    {
        var (ai, host) = (streaming.Ai, streaming.Host);
        var api = host.Api;
        var (doctor, patient, group) = await api.CreateConsultation();
        await using var patientSocket = await WsClient.Connect(host.BaseAddress, patient.UserId);
        await using var doctorSocket = await WsClient.Connect(host.BaseAddress, doctor.UserId);
        // Nine pieces 250 ms apart: time to stop it after the first, and a retry that completes in about 2 s.
        var question = $"ache {Guid.NewGuid().ToString("N")[..8]} #trickle";
        var sent = await api.SendMessage(patient.UserId, group.GroupId, question);

        var doctorFirst = await UntilFirstDelta(doctorSocket);
        var recordId = (string)doctorFirst[^1]["record_id"]!;
        var abandoned = ai.Abandoned;
        var (status, body) = await api.StopAiReply(recordId, doctor.UserId);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal((recordId, AiRecordStatus.Failed, "4004: stopped", 1),
            ((string?)body!["record_id"], (int)body["status"]!, (string?)body["error_message"], (int)body["attempts"]!));
        Assert.Null((string?)body["ai_message_id"]);

        foreach (var frames in new[] { await OneReply(patientSocket), await RestOfReply(doctorSocket, doctorFirst) })
        {
            Assert.Equal(["message_sent", "ai_state thinking", "ai_state generating", .. DeltaLabels(frames.Count(IsDelta)), "ai_state stopped"],
                frames.Select(Label));
            Assert.True(frames.Count(IsDelta) < PiecesStreamed("AI: " + question), "stopped before the last piece");
            AssertOneRecord(frames, group.GroupId, sent.MessageId);
        }
        // The service sees its connection closed: the call is cancelled, not left to run out.
        await Eventually.True(() => ai.Abandoned > abandoned, Wait, "the stand-in to see the stopped call's connection closed");

        var (again, refusal) = await api.StopAiReply(recordId, doctor.UserId);
        AssertError(again, refusal, HttpStatusCode.Conflict, ErrorCodes.InvalidState);
        var record = Assert.Single((await api.ListAiInteractions(group.GroupId)).Records);
        Assert.Equal((AiRecordStatus.Failed, "4004: stopped", 1), (record.Status, record.ErrorMessage, record.Attempts));

        // A later message is outside the record's context: the retry must not send it.
        var later = await api.SendMessage(doctor.UserId, group.GroupId, "the doctor writes in between");
        (status, body) = await api.RetryAiReply(recordId, doctor.UserId);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal((recordId, AiRecordStatus.Pending, 2, (string?)null),
            ((string?)body!["record_id"], (int)body["status"]!, (int)body["attempts"]!, (string?)body["error_message"]));

        foreach (var socket in new[] { patientSocket, doctorSocket })
        {
            // Nothing of the stopped attempt came after "stopped": the doctor's message is next, then the retry.
            var between = await socket.Next(Wait);
            Assert.Equal(("message_sent", later.MessageId), (Label(between), (string?)between["message_id"]));
            var frames = await OneReply(socket, startsWithMessage: false);
            Assert.Equal(["ai_state thinking", "ai_state generating", .. DeltaLabels(frames.Count(IsDelta)), "ai_reply", "ai_state done"],
                frames.Select(Label));
            Assert.Equal(recordId, RecordIdOf(frames));
            var reply = frames.Single(f => Type(f) == FrameTypes.AiReply);
            Assert.Equal("AI: " + question, (string?)reply["content"]);
            Assert.Equal((string?)reply["content"], string.Concat(frames.Where(IsDelta).Select(d => (string?)d["text"])));
        }

        record = Assert.Single((await api.ListAiInteractions(group.GroupId)).Records);
        Assert.Equal((AiRecordStatus.Succeeded, 2, (string?)null), (record.Status, record.Attempts, record.ErrorMessage));
        var replies = (await api.History(group.GroupId)).Where(m => m.MsgType == MessageTypes.AiReply).ToList();
        Assert.Equal(("AI: " + question, record.AiMessageId), (Assert.Single(replies).MsgContent, replies[0].MessageId));
        var requests = ai.Requests.Where(r => StandInAiServer.LastText(r).Contains(question, StringComparison.Ordinal)).ToList();
        Assert.Equal(2, requests.Count);
        Assert.True(JsonNode.DeepEquals(requests[0], requests[1]), "the retry sends exactly the first attempt's context");
        Assert.DoesNotContain(requests[1]["messages"]!.AsArray(), m => ((string?)m!["content"])!.Contains("in between", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Should_stop_a_reply_from_the_patients_socket_and_refuse_stops_with_error_frames()
    {
        var (ai, host) = (streaming.Ai, streaming.Host);
        var api = host.Api;
        var (doctor, patient, group) = await api.CreateConsultation();
        var otherPatient = await api.CreateUser(UserRoles.Patient, "李四");
        await api.AddMember(group.GroupId, otherPatient.UserId, UserRoles.Patient);
        await using var patientSocket = await WsClient.Connect(host.BaseAddress, patient.UserId);
        await using var doctorSocket = await WsClient.Connect(host.BaseAddress, doctor.UserId);
        await using var otherSocket = await WsClient.Connect(host.BaseAddress, otherPatient.UserId);
        // About twenty pieces, 5 s: it is stopped long before.
        var question = $"a long question to be stopped {Guid.NewGuid():N} #trickle";
        var sent = await api.SendMessage(patient.UserId, group.GroupId, question);
        var patientFirst = await UntilFirstDelta(patientSocket);
        var recordId = (string)patientFirst[^1]["record_id"]!;

        // Another patient of the group may not stop it, and the refusal stops nothing.
        await otherSocket.SendJson(new { type = FrameTypes.AiStop, record_id = recordId, client_msg_id = "theirs" });
        await AssertErrorFrame(otherSocket, "theirs", ErrorCodes.Forbidden);

        var abandoned = ai.Abandoned;
        await patientSocket.SendJson(new { type = FrameTypes.AiStop, record_id = recordId, client_msg_id = "mine" });
        foreach (var frames in new[] { await RestOfReply(patientSocket, patientFirst), await OneReply(doctorSocket) })
        {
            Assert.Equal(["message_sent", "ai_state thinking", "ai_state generating", .. DeltaLabels(frames.Count(IsDelta)), "ai_state stopped"],
                frames.Select(Label));
            Assert.True(frames.Count(IsDelta) < PiecesStreamed("AI: " + question), "stopped before the last piece");
            AssertOneRecord(frames, group.GroupId, sent.MessageId);
        }
        await Eventually.True(() => ai.Abandoned > abandoned, Wait, "the stand-in to see the stopped call's connection closed");
        var record = Assert.Single((await api.ListAiInteractions(group.GroupId)).Records);
        Assert.Equal((recordId, sent.MessageId, AiRecordStatus.Failed, "4004: stopped"), (record.RecordId, record.UserMessageId, record.Status, record.ErrorMessage));

        // Refusals, each as an error frame echoing the frame's client_msg_id.
        await patientSocket.SendJson(new { type = FrameTypes.AiStop, record_id = recordId, client_msg_id = "again" });
        await AssertErrorFrame(patientSocket, "again", ErrorCodes.InvalidState);
        await patientSocket.SendJson(new { type = FrameTypes.AiStop, record_id = "record_20250101000000_unknown1", client_msg_id = "unknown" });
        await AssertErrorFrame(patientSocket, "unknown", ErrorCodes.RecordNotFound);
        await patientSocket.SendJson(new { type = FrameTypes.AiStop, client_msg_id = "no-record" });
        await AssertErrorFrame(patientSocket, "no-record", ErrorCodes.InvalidParameter);

        // Nothing was stored for the stopped reply, and the stream of the patient's socket ended at "stopped".
        Assert.DoesNotContain(await api.History(group.GroupId), m => m.MsgType == MessageTypes.AiReply);
    }

    [Fact]
    public async Task Should_refuse_stop_and_retry_over_rest_by_status_and_code()
    {
        var api = shared.Api;
        var (doctor, patient, group) = await api.CreateConsultation();
        var outsiderDoctor = await api.CreateUser(UserRoles.Doctor);
        await api.SendMessage(patient.UserId, group.GroupId, "a question answered at once");
        AiInteractionResponse done = null!;
        await Eventually.True(async () => (done = (await api.ListAiInteractions(group.GroupId)).Records.Single()).Status == AiRecordStatus.Succeeded,
            Wait, "the reply stored");

        var (status, body) = await api.StopAiReply(done.RecordId, callerId: null);
        AssertError(status, body, HttpStatusCode.Unauthorized, ErrorCodes.Unauthorized);
        (status, body) = await api.RetryAiReply(done.RecordId, callerId: null);
        AssertError(status, body, HttpStatusCode.Unauthorized, ErrorCodes.Unauthorized);
        (status, body) = await api.StopAiReply(done.RecordId, outsiderDoctor.UserId);
        AssertError(status, body, HttpStatusCode.Forbidden, ErrorCodes.Forbidden);
        (status, body) = await api.RetryAiReply(done.RecordId, outsiderDoctor.UserId);
        AssertError(status, body, HttpStatusCode.Forbidden, ErrorCodes.Forbidden);
        (status, body) = await api.StopAiReply("record_20250101000000_unknown1", doctor.UserId);
        AssertError(status, body, HttpStatusCode.NotFound, ErrorCodes.RecordNotFound);
        (status, body) = await api.RetryAiReply("record_20250101000000_unknown1", doctor.UserId);
        AssertError(status, body, HttpStatusCode.NotFound, ErrorCodes.RecordNotFound);
        (status, body) = await api.RetryAiReply(done.RecordId, patient.UserId);
        AssertError(status, body, HttpStatusCode.Forbidden, ErrorCodes.Forbidden);
        (status, body) = await api.RetryAiReply(done.RecordId, doctor.UserId);
        AssertError(status, body, HttpStatusCode.Conflict, ErrorCodes.InvalidState);
        (status, body) = await api.StopAiReply(done.RecordId, patient.UserId);
        AssertError(status, body, HttpStatusCode.Conflict, ErrorCodes.InvalidState);

        // A running reply cannot be retried either; the refusals changed nothing.
        await api.SendMessage(patient.UserId, group.GroupId, "wait for me #hang");
        var running = (await api.ListAiInteractions(group.GroupId)).Records.Single(r => r.RecordId != done.RecordId);
        Assert.Equal(AiRecordStatus.Pending, running.Status);
        (status, body) = await api.RetryAiReply(running.RecordId, doctor.UserId);
        AssertError(status, body, HttpStatusCode.Conflict, ErrorCodes.InvalidState);
        // The doctor stops it, so no call of this spec is left running on the shared host.
        var abandoned = shared.Ai.Abandoned;
        (status, body) = await api.StopAiReply(running.RecordId, doctor.UserId);
        Assert.Equal((HttpStatusCode.OK, "4004: stopped"), (status, (string?)body!["error_message"]));
        await Eventually.True(() => shared.Ai.Abandoned > abandoned, Wait, "the stand-in to see the stopped call's connection closed");
        var after = (await api.ListAiInteractions(group.GroupId)).Records.Single(r => r.RecordId == done.RecordId);
        Assert.Equal((AiRecordStatus.Succeeded, 1, done.AiMessageId), (after.Status, after.Attempts, after.AiMessageId));
        Assert.Single(await api.History(group.GroupId), m => m.MsgType == MessageTypes.AiReply);
    }

    [Fact]
    public async Task Should_open_the_circuit_after_failures_in_a_row_fail_at_once_while_open_and_close_after_a_probe()
    {
        const int resetSeconds = 3;
        await using var ai = await StandInAiServer.Start();
        await using var host = await HostProcess.Start(new Dictionary<string, string>
        {
            ["Ai__Endpoint"] = ai.Url,
            ["Ai__BreakerFailures"] = "2",
            ["Ai__BreakerResetSeconds"] = resetSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        var api = host.Api;
        var (doctor, patient, group) = await api.CreateConsultation();
        await using var doctorSocket = await WsClient.Connect(host.BaseAddress, doctor.UserId);
        Assert.Equal(0, (await PrometheusText.Scrape(host)).Value("im_ai_breaker_state"));

        for (var i = 1; i <= 2; i++)
        {
            await api.SendMessage(patient.UserId, group.GroupId, $"failure {i} #http500");
            Assert.Equal("ai_state failed 4001", Label((await OneReply(doctorSocket)).Last()));
        }
        var opened = DateTime.UtcNow;
        Assert.Equal(2, ai.Requests.Count);

        // Open: the next reply fails at once, without a request.
        var secret = $"circuit canary {Guid.NewGuid():N}";
        var refused = await api.SendMessage(patient.UserId, group.GroupId, secret);
        var frames = await OneReply(doctorSocket);
        Assert.Equal(["message_sent", "ai_state thinking", "ai_state failed 4001"], frames.Select(Label));
        var record = (await api.ListAiInteractions(group.GroupId)).Records.Single(r => r.UserMessageId == refused.MessageId);
        Assert.Equal((AiRecordStatus.Failed, "4001: circuit open", 0L), (record.Status, record.ErrorMessage, record.DurationMs));
        Assert.Equal(2, ai.Requests.Count);
        Assert.DoesNotContain(ai.Requests, r => StandInAiServer.LastText(r).Contains(secret, StringComparison.Ordinal));

        var scrape = await ScrapeUntil(host, s => s.Value("im_ai_breaker_state") == 2, "im_ai_breaker_state 2");
        Assert.Equal((2.0, 1.0), (scrape.Value("im_ai_calls_total", "outcome=4001"), scrape.Value("im_ai_calls_total", "outcome=circuit_open")));
        Assert.Equal("open", await BreakerOnOps(host));
        await Eventually.True(() => host.Output.Contains("AI circuit breaker open: ", StringComparison.Ordinal), Wait, "the Warning that the breaker opened");
        Assert.Contains(host.Output.Split('\n'), l => l.Contains("[WARNING]", StringComparison.Ordinal)
                                                      && l.Contains("AI circuit breaker open: ", StringComparison.Ordinal));

        // After the reset time one probe goes through; its success closes the circuit.
        var due = opened + TimeSpan.FromSeconds(resetSeconds) + TimeSpan.FromMilliseconds(200);
        if (due > DateTime.UtcNow) await Task.Delay(due - DateTime.UtcNow);
        var probe = await api.SendMessage(patient.UserId, group.GroupId, "are you back?");
        frames = await OneReply(doctorSocket);
        Assert.Equal("ai_state done", Label(frames.Last()));
        Assert.Equal(AiRecordStatus.Succeeded,
            (await api.ListAiInteractions(group.GroupId)).Records.Single(r => r.UserMessageId == probe.MessageId).Status);
        Assert.Equal(3, ai.Requests.Count);
        await ScrapeUntil(host, s => s.Value("im_ai_breaker_state") == 0, "im_ai_breaker_state back to 0");
        Assert.Equal("closed", await BreakerOnOps(host));
        await Eventually.True(() => host.Output.Contains("AI circuit breaker closed", StringComparison.Ordinal), Wait, "the Warning that it closed");
        Assert.DoesNotContain(secret, host.Output, StringComparison.Ordinal);
    }

    // ---- helpers ----

    /// <summary>
    /// One reply's frames on a socket that sees only this group: the message (unless a retry),
    /// then everything up to and including the reply's final state.
    /// </summary>
    private static async Task<List<JsonNode>> OneReply(WsClient socket, bool startsWithMessage = true)
    {
        var frames = new List<JsonNode>();
        while (true)
        {
            var frame = await socket.Next(Wait);
            frames.Add(frame);
            if (IsState(frame) && (string?)frame["state"] is AiStates.Done or AiStates.Failed or AiStates.Stopped) break;
        }
        if (startsWithMessage) Assert.Equal(FrameTypes.MessageSent, Type(frames[0]));
        return frames;
    }

    /// <summary>The frames of a socket up to and including the first piece of a reply.</summary>
    private static async Task<List<JsonNode>> UntilFirstDelta(WsClient socket)
    {
        var frames = new List<JsonNode>();
        do frames.Add(await socket.Next(Wait));
        while (!IsDelta(frames[^1]));
        Assert.Equal(0, (int)frames[^1]["index"]!);
        return frames;
    }

    /// <summary>The rest of a reply whose first frames were read already.</summary>
    private static async Task<List<JsonNode>> RestOfReply(WsClient socket, List<JsonNode> first) =>
        [.. first, .. await OneReply(socket, startsWithMessage: false)];

    /// <summary>Every frame of the reply but the message names one record, of this group and message.</summary>
    private static string AssertOneRecord(List<JsonNode> frames, string groupId, string userMessageId)
    {
        var recordId = RecordIdOf(frames);
        Assert.All(frames.Where(f => IsState(f) || IsDelta(f)), f =>
        {
            Assert.Equal(groupId, (string?)f["group_id"]);
            Assert.Equal(recordId, (string?)f["record_id"]);
        });
        Assert.All(frames.Where(IsState), f => Assert.Equal(userMessageId, (string?)f["user_message_id"]));
        return recordId;
    }

    private static string RecordIdOf(List<JsonNode> frames)
    {
        var ids = frames.Where(f => IsState(f) || IsDelta(f)).Select(f => (string?)f["record_id"]).Distinct().ToList();
        return Assert.Single(ids)!;
    }

    private static string? Type(JsonNode frame) => (string?)frame["type"];

    private static bool IsState(JsonNode frame) => Type(frame) == FrameTypes.AiState;

    private static bool IsDelta(JsonNode frame) => Type(frame) == FrameTypes.AiDelta;

    private static IEnumerable<string> DeltaLabels(int count) => Enumerable.Range(0, count).Select(i => $"ai_delta {i}");

    /// <summary>How many pieces the stand-in streams an answer in (its rule: at most 20, of at least 3 characters).</summary>
    private static int PiecesStreamed(string content)
    {
        var length = Math.Max(StandInAiServer.PieceLength, (content.Length + StandInAiServer.MaxPieces - 1) / StandInAiServer.MaxPieces);
        return (content.Length + length - 1) / length;
    }


    private static void AssertError(HttpStatusCode status, JsonNode? body, HttpStatusCode expected, string code)
    {
        Assert.True(status == expected, $"expected {(int)expected} {code}, got {(int)status}: {body?.ToJsonString()}");
        Assert.Equal(code, (string?)body!["error"]!["code"]);
    }

    private static async Task AssertErrorFrame(WsClient socket, string clientMsgId, string code)
    {
        var frame = await socket.NextOfType(FrameTypes.Error, Wait);
        Assert.Equal((code, clientMsgId), ((string?)frame["code"], (string?)frame["client_msg_id"]));
    }


    private static async Task<PrometheusText> ScrapeUntil(HostProcess host, Func<PrometheusText, bool> condition, string what)
    {
        PrometheusText? last = null;
        await Eventually.True(async () => condition(last = await PrometheusText.Scrape(host)), Wait, what);
        return last!;
    }

    private static async Task<string?> BreakerOnOps(HostProcess host)
    {
        var (status, body) = await host.Api.Get("/api/ops/cluster");
        Assert.Equal(HttpStatusCode.OK, status);
        return (string?)Assert.Single(body!["members"]!.AsArray())!["ai_breaker"];
    }
}
