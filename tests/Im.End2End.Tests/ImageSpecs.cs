using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Im.Contracts;
using Im.TestSupport;

namespace Im.End2End.Tests;

/// <summary>
/// The spec's IMAGE messages: a photo uploaded to its consultation, stored without the metadata a
/// phone writes into it, pushed to the members with its <c>media</c> object, read like the group's
/// messages, shown to the AI when a patient sends it, and served by every node after any crash.
/// </summary>
[Collection(EndToEnd.Name)]
public sealed class ImageSpecs(E2EFixture fixture)
{
    [Fact]
    public async Task Should_store_each_format_without_its_metadata_and_serve_it_with_its_hash()
    {
        var (_, patient, group) = await fixture.Api.CreateConsultation();
        var multipart = true;
        foreach (var (contentType, bytes) in TestImages.All())
        {
            var (status, media) = await Upload(fixture.Host, patient.UserId, group.GroupId, bytes, contentType, multipart = !multipart);
            Assert.True(status == HttpStatusCode.OK, $"{contentType}: {(int)status} {media?.ToJsonString()}");
            Assert.Equal((contentType, TestImages.Width, TestImages.Height, group.GroupId),
                ((string?)media!["content_type"], (int)media["width"]!, (int)media["height"]!, (string?)media["group_id"]));

            using var response = await fixture.Host.Http.GetAsync($"/api/media/{media["media_id"]}");
            var stored = await response.Content.ReadAsByteArrayAsync();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(contentType, response.Content.Headers.ContentType?.MediaType);
            Assert.Equal((contentType, TestImages.Width, TestImages.Height, false), TestImages.Inspect(stored));
            Assert.False(TestImages.HoldsSecret(stored), $"{contentType} kept its metadata");
            Assert.Equal((long)media["size"]!, stored.LongLength);
            var sha256 = Convert.ToHexStringLower(SHA256.HashData(stored));
            Assert.Equal(sha256, (string?)media["sha256"]);
            Assert.Equal($"\"{sha256}\"", response.Headers.ETag?.ToString());
            Assert.Equal((true, TimeSpan.FromDays(1)), (response.Headers.CacheControl!.Private, response.Headers.CacheControl.MaxAge));
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());

            using var again = new HttpRequestMessage(HttpMethod.Get, $"/api/media/{media["media_id"]}");
            again.Headers.IfNoneMatch.Add(response.Headers.ETag!);
            using var notModified = await fixture.Host.Http.SendAsync(again);
            Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        }
    }

    [Fact]
    public async Task Should_decide_the_type_from_the_bytes_and_refuse_what_is_not_a_safe_image()
    {
        var (_, patient, group) = await fixture.Api.CreateConsultation();
        var outsider = await fixture.Api.CreateUser(UserRoles.Patient);

        // A PNG called photo.jpg and sent as image/jpeg is a PNG.
        var (renamed, media) = await Upload(fixture.Host, patient.UserId, group.GroupId, TestImages.Png(), "image/jpeg", multipart: true, "photo.jpg");
        Assert.Equal((HttpStatusCode.OK, "image/png"), (renamed, (string?)media!["content_type"]));

        (string What, byte[] Bytes, string ContentType, HttpStatusCode Status, string Code)[] refused =
        [
            ("a text file", TestImages.Text(), "image/png", HttpStatusCode.UnsupportedMediaType, ErrorCodes.UnsupportedMediaType),
            ("an SVG", TestImages.Svg(), "image/svg+xml", HttpStatusCode.UnsupportedMediaType, ErrorCodes.UnsupportedMediaType),
            ("a truncated JPEG", TestImages.TruncatedJpeg(), "image/jpeg", HttpStatusCode.BadRequest, ErrorCodes.InvalidParameter),
            ("a decompression bomb", TestImages.PngBomb(), "image/png", HttpStatusCode.BadRequest, ErrorCodes.InvalidParameter),
            ("5 MiB and a byte", new byte[5 * 1024 * 1024 + 1], "image/png", HttpStatusCode.RequestEntityTooLarge, ErrorCodes.PayloadTooLarge),
            ("a JSON body", "{}"u8.ToArray(), "application/json", HttpStatusCode.UnsupportedMediaType, ErrorCodes.UnsupportedMediaType),
        ];
        foreach (var (what, bytes, contentType, status, code) in refused)
        {
            var (actual, body) = await Upload(fixture.Host, patient.UserId, group.GroupId, bytes, contentType, multipart: contentType != "application/json");
            Assert.True((status, code) == (actual, (string?)body?["error"]?["code"]), $"{what}: {(int)actual} {body?.ToJsonString()}");
        }
        var (notMember, error) = await Upload(fixture.Host, outsider.UserId, group.GroupId, TestImages.Png(), "image/png", multipart: false);
        Assert.Equal((HttpStatusCode.NotFound, ErrorCodes.NotMember), (notMember, (string?)error!["error"]!["code"]));
        var (unknown, missing) = await fixture.Api.Get("/api/media/media_20250101000000_nothing0");
        Assert.Equal((HttpStatusCode.NotFound, ErrorCodes.MediaNotFound), (unknown, (string?)missing!["error"]!["code"]));
    }

    [Fact]
    public async Task Should_bring_a_patients_photo_to_the_doctor_and_show_it_to_the_ai()
    {
        var (doctor, patient, group) = await fixture.Api.CreateConsultation();
        await using var doctorSocket = await fixture.Connect(doctor.UserId);
        await using var patientSocket = await fixture.Connect(patient.UserId);
        var uploaded = await UploadOk(fixture.Host, patient.UserId, group.GroupId, TestImages.Jpeg(), "image/jpeg");
        var mediaId = (string)uploaded["media_id"]!;

        // Over REST.
        var (status, sent) = await fixture.Api.Post("/api/message/send",
            new { group_id = group.GroupId, msg_type = MessageTypes.Image, content = mediaId, client_msg_id = "photo-1" }, patient.UserId);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal((MessageTypes.Image, mediaId), ((string?)sent!["msg_type"], (string?)sent["msg_content"]));
        AssertMedia(sent["media"], uploaded);
        var pushed = await doctorSocket.NextOfType(FrameTypes.MessageSent);
        Assert.Equal((string?)sent["message_id"], (string?)pushed["message_id"]);
        AssertMedia(pushed["media"], uploaded);

        // The doctor opens the photo the push points to.
        using var photo = await fixture.Host.Http.GetAsync((string)pushed["media"]!["url"]!);
        var photoBytes = await photo.Content.ReadAsByteArrayAsync();
        Assert.Equal((string?)uploaded["sha256"], Convert.ToHexStringLower(SHA256.HashData(photoBytes)));

        // The AI was shown the very same image, and its reply reaches the doctor.
        var reply = await doctorSocket.NextOfType(FrameTypes.AiReply, TimeSpan.FromSeconds(30));
        Assert.Equal((string?)sent["message_id"], (string?)reply["user_message_id"]);
        var request = fixture.Ai.Requests.Last(r => r["messages"]!.AsArray().Last()!["content"] is JsonArray);
        var part = request["messages"]!.AsArray().Last()!["content"]!.AsArray().Single()!;
        Assert.Equal("image_url", (string?)part["type"]);
        Assert.Equal("data:image/jpeg;base64," + Convert.ToBase64String(photoBytes), (string?)part["image_url"]!["url"]);

        // Over WebSocket, and in every read of the history.
        await patientSocket.SendJson(new { type = FrameTypes.SendMessage, group_id = group.GroupId, msg_type = MessageTypes.Image, content = mediaId });
        var viaSocket = await doctorSocket.NextOfType(FrameTypes.MessageSent);
        Assert.Equal(MessageTypes.Image, (string?)viaSocket["msg_type"]);
        AssertMedia(viaSocket["media"], uploaded);
        var history = await fixture.Api.Get($"/api/message/list?group_id={group.GroupId}");
        var images = history.Body!["messages"]!.AsArray().Where(m => (string?)m!["msg_type"] == MessageTypes.Image).ToList();
        Assert.Equal(2, images.Count);
        foreach (var image in images) AssertMedia(image!["media"], uploaded);
        AssertMedia((await fixture.Api.Get($"/api/message/{sent["message_id"]}")).Body!["media"], uploaded);
        Assert.All(history.Body["messages"]!.AsArray().Where(m => (string?)m!["msg_type"] != MessageTypes.Image),
            m => Assert.Null(m!.AsObject()["media"]));
    }

    [Fact]
    public async Task Should_refuse_an_image_send_naming_an_unknown_or_another_groups_image()
    {
        var (_, patient, group) = await fixture.Api.CreateConsultation();
        var (otherDoctor, _, otherGroup) = await fixture.Api.CreateConsultation();
        var foreign = (string)(await UploadOk(fixture.Host, otherDoctor.UserId, otherGroup.GroupId, TestImages.Png(), "image/png"))["media_id"]!;

        foreach (var content in new[] { foreign, "media_20250101000000_nothing0" })
        {
            var (status, body) = await fixture.Api.Post("/api/message/send",
                new { group_id = group.GroupId, msg_type = MessageTypes.Image, content }, patient.UserId);
            Assert.Equal((HttpStatusCode.BadRequest, ErrorCodes.InvalidParameter), (status, (string?)body!["error"]!["code"]));
        }
        Assert.Empty(await fixture.Api.History(group.GroupId));
    }

    [Fact]
    public async Task Should_record_4001_when_the_model_refuses_images()
    {
        var (_, patient, group) = await fixture.Api.CreateConsultation();
        var mediaId = (string)(await UploadOk(fixture.Host, patient.UserId, group.GroupId, TestImages.Png(), "image/png"))["media_id"]!;
        fixture.Ai.RefuseImages = true;
        try
        {
            await fixture.Api.Post("/api/message/send", new { group_id = group.GroupId, msg_type = MessageTypes.Image, content = mediaId }, patient.UserId);
            await Eventually.True(async () => (await fixture.Api.ListAiInteractions(group.GroupId)).Records.SingleOrDefault()?.Status == AiRecordStatus.Failed,
                TimeSpan.FromSeconds(20), "the record closed");
        }
        finally
        {
            fixture.Ai.RefuseImages = false;
        }
        var record = (await fixture.Api.ListAiInteractions(group.GroupId)).Records.Single();
        Assert.StartsWith(ErrorCodes.AiCallFailed + ":", record.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_keep_an_image_through_a_kill_9()
    {
        await using var host = await HostProcess.Start(new Dictionary<string, string>());
        var (_, patient, group) = await host.Api.CreateConsultation();
        var uploaded = await UploadOk(host, patient.UserId, group.GroupId, TestImages.Webp(), "image/webp");
        var sent = await host.Api.Post("/api/message/send",
            new { group_id = group.GroupId, msg_type = MessageTypes.Image, content = (string)uploaded["media_id"]! }, patient.UserId);

        await host.Kill();
        await host.Launch();

        using var photo = await host.Http.GetAsync($"/api/media/{uploaded["media_id"]}");
        Assert.Equal(HttpStatusCode.OK, photo.StatusCode);
        Assert.Equal((string?)uploaded["sha256"], Convert.ToHexStringLower(SHA256.HashData(await photo.Content.ReadAsByteArrayAsync())));
        AssertMedia((await host.Api.Get($"/api/message/{sent.Body!["message_id"]}")).Body!["media"], uploaded);
    }

    [Fact]
    public async Task Should_serve_an_image_uploaded_on_one_node_from_another()
    {
        await using var cluster = await LocalCluster.Start(2);
        var (first, second) = (cluster.Nodes[0], cluster.Nodes[1]);
        var (doctor, patient, group) = await first.Api.CreateConsultation();
        var uploaded = await UploadOk(first, patient.UserId, group.GroupId, TestImages.Gif(), "image/gif");
        await using var doctorOnSecond = await WsClient.Connect(second.BaseAddress, doctor.UserId);

        await first.Api.Post("/api/message/send",
            new { group_id = group.GroupId, msg_type = MessageTypes.Image, content = (string)uploaded["media_id"]! }, patient.UserId);

        var pushed = await doctorOnSecond.NextOfType(FrameTypes.MessageSent, TimeSpan.FromSeconds(30));
        using var photo = await second.Http.GetAsync((string)pushed["media"]!["url"]!);
        Assert.Equal(HttpStatusCode.OK, photo.StatusCode);
        Assert.Equal((string?)uploaded["sha256"], Convert.ToHexStringLower(SHA256.HashData(await photo.Content.ReadAsByteArrayAsync())));
    }

    private static void AssertMedia(JsonNode? media, JsonNode uploaded)
    {
        Assert.NotNull(media);
        var id = (string)uploaded["media_id"]!;
        Assert.Equal((id, (string?)uploaded["content_type"], (long)uploaded["size"]!, (int)uploaded["width"]!, (int)uploaded["height"]!, $"/api/media/{id}"),
            ((string?)media!["media_id"], (string?)media["content_type"], (long)media["size"]!, (int)media["width"]!, (int)media["height"]!, (string?)media["url"]));
    }

    private static async Task<JsonNode> UploadOk(HostProcess host, string callerId, string groupId, byte[] bytes, string contentType)
    {
        var (status, body) = await Upload(host, callerId, groupId, bytes, contentType, multipart: true);
        Assert.True(status == HttpStatusCode.OK, $"upload: {(int)status} {body?.ToJsonString()}");
        return body!;
    }

    /// <summary>The image as a form's <c>file</c> field, or as the raw body.</summary>
    public static async Task<(HttpStatusCode Status, JsonNode? Body)> Upload(HostProcess host, string callerId, string groupId, byte[] bytes,
        string contentType, bool multipart, string fileName = "photo")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/media?group_id={Uri.EscapeDataString(groupId)}");
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        if (multipart)
        {
            request.Content = new MultipartFormDataContent { { file, "file", fileName } };
        }
        else
        {
            request.Content = file;
        }
        request.Headers.Add("X-User-Id", callerId);
        using var response = await host.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }
}
