using System.Security.Cryptography;
using Akka.Actor;
using Im.Actors.Media;
using Im.Actors.Storage;
using Im.Actors.Tests.Support;
using Im.Contracts;
using Im.TestSupport;
using StackExchange.Redis;
using Xunit.Abstractions;
using static Im.Actors.Tests.Support.OutcomeAssert;

namespace Im.Actors.Tests;

/// <summary>
/// The MediaActor over a real store (embedded Garnet): who may upload and read, in which order
/// the refusals come, and that a refused upload leaves nothing behind. Messages are serialized on
/// every send, as everywhere else.
/// </summary>
public sealed class MediaActorSpecs : Akka.TestKit.Xunit2.TestKit, IClassFixture<GarnetStoreServer>
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);
    private static readonly Caller Admin = Caller.FromToken("root", isAdmin: true);

    private readonly GarnetStoreServer _server;
    private readonly ImStore _store;
    private readonly IActorRef _media;
    private readonly string _groupId = Ids.NewGroupId(DateTimeOffset.UtcNow);

    public MediaActorSpecs(GarnetStoreServer server, ITestOutputHelper output) : base(ActorSpecs.SerializingConfig, output: output)
    {
        _server = server;
        _store = server.NewStore();
        _media = Sys.ActorOf(MediaActor.Props(_store, new ImageSanitizer(new MediaLimits())), "media");
    }

    private static Caller Jwt(string userId) => Caller.FromToken(userId, isAdmin: false);

    /// <summary>"doctor" (the creator) and "patient" are members; "outsider" is a user who is not; "ghost" is no user.</summary>
    private async Task GroupWithMembers()
    {
        await _store.CreateUser("doctor", "d", UserRoles.Doctor);
        await _store.CreateUser("patient", "p", UserRoles.Patient);
        await _store.CreateUser("outsider", "o", UserRoles.Patient);
        Assert.NotNull(await _store.CreateGroup(_groupId, "g", null, "doctor"));
        Assert.Equal(AddMemberResult.Added, await _store.AddMember(_groupId, "patient", UserRoles.Patient));
    }

    private Task<Outcome<MediaResponse>> Upload(Caller caller, byte[] bytes, string? groupId = null) =>
        this.AskThroughProbe(_media, new MediaCommands.Upload(groupId ?? _groupId, caller, bytes), AskTimeout);

    private Task<Outcome<MediaContent>> Get(string mediaId, Caller caller) =>
        this.AskThroughProbe(_media, new MediaCommands.GetMedia(mediaId, caller), AskTimeout);

    /// <summary>Every key under this test's prefix.</summary>
    private async Task<IReadOnlyList<string>> StoredKeys()
    {
        var keys = (RedisResult[])(await _server.Redis.GetDatabase().ExecuteAsync("KEYS", _store.Keys.Prefix + "*"))!;
        return keys.Select(key => (string)key!).Order(StringComparer.Ordinal).ToList();
    }

    [Fact]
    public async Task Should_store_a_members_upload_cleaned_and_nothing_else()
    {
        await GroupWithMembers();
        var before = await StoredKeys();

        var uploaded = Ok(await Upload(Jwt("patient"), TestImages.Jpeg()));

        var bytes = Assert.IsType<byte[]>(await _store.GetMediaBytes(uploaded.MediaId));
        Assert.False(TestImages.HoldsSecret(bytes), "the stored image still holds the metadata's secret");
        Assert.Equal((MediaTypes.Jpeg, TestImages.Width, TestImages.Height, false), TestImages.Inspect(bytes));
        Assert.Equal((_groupId, MediaTypes.Jpeg, (long)bytes.Length, TestImages.Width, TestImages.Height, Convert.ToHexStringLower(SHA256.HashData(bytes))),
            (uploaded.GroupId, uploaded.ContentType, uploaded.Size, uploaded.Width, uploaded.Height, uploaded.Sha256));
        Assert.Equal(uploaded, await _store.GetMedia(uploaded.MediaId));
        Assert.Equal("patient", (string?)await _server.Redis.GetDatabase().HashGetAsync(_store.Keys.Media(uploaded.MediaId), "uploaded_by"));
        Assert.Equal(before.Append(_store.Keys.Media(uploaded.MediaId).ToString()).Append(_store.Keys.MediaBytes(uploaded.MediaId).ToString())
            .Order(StringComparer.Ordinal), await StoredKeys());
    }

    [Fact]
    public async Task Should_take_an_upload_from_a_member_in_header_mode()
    {
        await GroupWithMembers();

        var uploaded = Ok(await Upload(Caller.FromHeader("doctor"), TestImages.Png()));

        Assert.Equal(MediaTypes.Png, uploaded.ContentType);
        Assert.False(TestImages.HoldsSecret((await _store.GetMediaBytes(uploaded.MediaId))!));
    }

    [Fact]
    public async Task Should_refuse_the_shape_before_the_caller_and_the_caller_before_decoding_leaving_nothing_behind()
    {
        await GroupWithMembers();
        var noGroup = Ids.NewGroupId(DateTimeOffset.UtcNow);
        var oversized = new byte[5 * 1024 * 1024 + 1];
        TestImages.Jpeg().CopyTo(oversized, 0);
        var cases = new (string Case, Caller Caller, byte[] Bytes, string GroupId, string Code)[]
        {
            ("too large, from nobody, to no group", Jwt("ghost"), oversized, noGroup, ErrorCodes.PayloadTooLarge),
            ("too large, from a non-member", Jwt("outsider"), oversized, _groupId, ErrorCodes.PayloadTooLarge),
            ("text from a non-member", Jwt("outsider"), TestImages.Text(), _groupId, ErrorCodes.UnsupportedMediaType),
            ("SVG from nobody, to no group", Jwt("ghost"), TestImages.Svg(), noGroup, ErrorCodes.UnsupportedMediaType),
            ("an image to no group", Jwt("patient"), TestImages.Jpeg(), noGroup, ErrorCodes.GroupNotFound),
            ("an image from a non-member", Jwt("outsider"), TestImages.Jpeg(), _groupId, ErrorCodes.NotMember),
            ("an image from a non-member in header mode", Caller.FromHeader("outsider"), TestImages.Jpeg(), _groupId, ErrorCodes.NotMember),
            ("an undecodable file from a non-member", Jwt("outsider"), TestImages.TruncatedJpeg(), _groupId, ErrorCodes.NotMember),
            ("a bomb from a non-member", Jwt("outsider"), TestImages.PngBomb(), _groupId, ErrorCodes.NotMember),
            ("an image from nobody", Jwt("ghost"), TestImages.Jpeg(), _groupId, ErrorCodes.UserNotFound),
            ("an undecodable file from nobody", Jwt("ghost"), TestImages.TruncatedJpeg(), _groupId, ErrorCodes.UserNotFound),
            ("an image from a header caller naming nobody", Caller.FromHeader(null), TestImages.Jpeg(), _groupId, ErrorCodes.UserNotFound),
            // An admin reads every group but is no member, so posts to none (as with messages).
            ("an image from an admin", Admin, TestImages.Jpeg(), _groupId, ErrorCodes.UserNotFound),
            ("an undecodable file from a member", Jwt("patient"), TestImages.TruncatedJpeg(), _groupId, ErrorCodes.InvalidParameter),
            ("a bomb from a member", Jwt("patient"), TestImages.PngBomb(), _groupId, ErrorCodes.InvalidParameter),
        };
        var before = await StoredKeys();

        var mismatches = new List<string>();
        foreach (var (what, caller, bytes, groupId, code) in cases)
        {
            var outcome = await Upload(caller, bytes, groupId);
            if (outcome.Error?.Code != code || outcome.Value is not null)
                mismatches.Add($"{what}: {outcome.Error?.Code ?? "stored " + outcome.Value?.MediaId}, expected {code}");
            var after = await StoredKeys();
            if (!after.SequenceEqual(before))
                mismatches.Add($"{what} left keys behind: {string.Join(", ", after.Except(before))}");
        }

        Assert.Empty(mismatches);
    }

    [Fact]
    public async Task Should_store_every_upload_of_a_burst()
    {
        await GroupWithMembers();

        var uploads = await Task.WhenAll(TestImages.All().Select(image => Upload(Jwt("patient"), image.Bytes)));

        var stored = uploads.Select(Ok).ToList();
        Assert.Equal(TestImages.All().Select(image => image.ContentType), stored.Select(media => media.ContentType));
        Assert.Equal(stored.Count, stored.Select(media => media.MediaId).Distinct().Count());
        foreach (var media in stored)
            Assert.Equal(media.Sha256, Convert.ToHexStringLower(SHA256.HashData((await _store.GetMediaBytes(media.MediaId))!)));
    }

    [Fact]
    public async Task Should_answer_media_not_found_for_an_unknown_id_whoever_asks()
    {
        await GroupWithMembers();

        foreach (var caller in new[] { Jwt("patient"), Jwt("outsider"), Jwt("ghost"), Admin, Caller.FromHeader(null) })
            Refused(ErrorCodes.MediaNotFound, await Get("media_20250101000000_unknown1", caller));
    }

    [Fact]
    public async Task Should_give_the_image_to_those_who_may_read_its_group_only()
    {
        await GroupWithMembers();
        var uploaded = Ok(await Upload(Jwt("patient"), TestImages.Png()));
        var bytes = (await _store.GetMediaBytes(uploaded.MediaId))!;

        foreach (var caller in new[] { Jwt("patient"), Jwt("doctor"), Admin, Caller.FromHeader("outsider"), Caller.FromHeader(null) })
        {
            var content = Ok(await Get(uploaded.MediaId, caller));
            Assert.Equal(uploaded, content.Media);
            Assert.Equal(bytes, content.Bytes);
        }
        Refused(ErrorCodes.Forbidden, await Get(uploaded.MediaId, Jwt("outsider")));
        Refused(ErrorCodes.Forbidden, await Get(uploaded.MediaId, Jwt("ghost")));

        // Membership is read at each request: a removed member reads no more.
        Assert.True(await _store.RemoveMember(_groupId, "patient"));
        Refused(ErrorCodes.Forbidden, await Get(uploaded.MediaId, Jwt("patient")));
    }
}
