using Akka.Actor;
using Im.Actors.Storage;
using Im.Contracts;

namespace Im.Actors.Media;

/// <summary>
/// The image endpoints' messages. They carry the bytes, so they never leave the node that took the
/// upload (Akka's remote frames are 128 KB): the store is what every node shares.
/// </summary>
public static class MediaCommands
{
    /// <summary>An upload to a group by one of its members; replied once the cleaned image is stored.</summary>
    public sealed record Upload(string GroupId, Caller Caller, byte[] Bytes) : IRepliedWith<MediaResponse>, INoSerializationVerificationNeeded
    {
        public override string ToString() => $"Upload {{ GroupId = {GroupId}, Caller = {Caller}, Bytes = {Bytes.Length} }}";
    }

    /// <summary>An image and its bytes, readable by whoever may read its group's messages.</summary>
    public sealed record GetMedia(string MediaId, Caller Caller) : IRepliedWith<MediaContent>;
}

public sealed record MediaContent(MediaResponse Media, byte[] Bytes)
{
    public override string ToString() => $"MediaContent {{ Media = {Media}, Bytes = {Bytes.Length} }}";
}

/// <summary>
/// One per node: takes uploads and serves images. An upload is checked against the group's members
/// (from the store) before it is decoded, so only a member can make the node decode anything, and
/// images are decoded one at a time, which bounds the memory an upload burst can take.
/// </summary>
public sealed class MediaActor : ReceiveActor
{
    private readonly ImStore _store;
    private readonly ImageSanitizer _sanitizer;
    private readonly SemaphoreSlim _decoding = new(1, 1);

    public MediaActor(ImStore store, ImageSanitizer sanitizer)
    {
        _store = store;
        _sanitizer = sanitizer;
        Receive<MediaCommands.Upload>(upload => Answer(upload, () => Store(upload)));
        Receive<MediaCommands.GetMedia>(get => Answer(get, async () =>
        {
            if (await _store.GetMedia(get.MediaId) is not { } media) return Errors.MediaNotFound;
            var (_, callerRole) = await _store.GroupAccess(media.GroupId, get.Caller.UserId);
            if (!get.Caller.MayReadGroup(callerRole)) return Errors.Forbidden;
            return await _store.GetMediaBytes(get.MediaId) is { } bytes ? new MediaContent(media, bytes) : Errors.MediaNotFound;
        }));
    }

    public static Props Props(ImStore store, ImageSanitizer sanitizer) => Akka.Actor.Props.Create(() => new MediaActor(store, sanitizer));

    protected override void PostStop() => _decoding.Dispose();

    // Shape first (size, type), then who may upload, then the costly decode.
    private async Task<Outcome<MediaResponse>> Store(MediaCommands.Upload upload)
    {
        if (_sanitizer.Screen(upload.Bytes) is { } notAnImage) return notAnImage;
        var uploader = upload.Caller.UserId ?? "";
        var (exists, callerRole) = await _store.GroupAccess(upload.GroupId, uploader);
        if (!exists) return Errors.GroupNotFound;
        if (!Access.MayPostTo(callerRole)) return await _store.UserExists(uploader) ? Errors.NotMember : Errors.UserNotFound;

        Outcome<SanitizedImage> sanitized;
        await _decoding.WaitAsync();
        try
        {
            // Decoding is CPU work: off the actor's thread, one image at a time.
            sanitized = await Task.Run(() => _sanitizer.Sanitize(upload.Bytes));
        }
        finally
        {
            _decoding.Release();
        }
        if (sanitized.Error is { } refused) return refused;
        var image = sanitized.Value!;
        return await _store.StoreMedia(upload.GroupId, uploader, image.ContentType, image.Bytes, image.Width, image.Height, image.Sha256);
    }

    private void Answer<T>(IRepliedWith<T> message, Func<Task<Outcome<T>>> work) where T : class =>
        work().PipeTo(Sender, failure: ex => message.Refuse(Errors.For(ex)));
}
