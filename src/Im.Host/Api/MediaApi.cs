using Im.Actors.Media;
using Im.Contracts;
using Im.Host.Config;
using Im.Host.OpenApi;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using Microsoft.OpenApi;

namespace Im.Host.Api;

/// <summary>Images: uploaded to a group by its members, read like the group's messages.</summary>
public static class MediaApi
{
    // Multipart framing (boundaries, part headers) on top of the image itself.
    private const int MultipartOverhead = 64 * 1024;
    private const string FileField = "file";

    // RFC 2046 5.1.1, and ASP.NET's own form reader (FormOptions.MultipartBoundaryLengthLimit).
    private const int MaxBoundaryLength = 70;

    public static void MapMediaApi(this IEndpointRouteBuilder api)
    {
        var media = api.MapGroup("/media").WithTags("Media");
        media.MapPost("", Upload).RequireAuthorization(Identity.CallerPolicy).CountsAgainstSendRate()
            .WithName("UploadImage").WithSummary("Upload an image to a group (a member); it is stored without its metadata")
            .WithDescription("The type is decided from the bytes: JPEG, PNG, WebP or GIF. Send the returned `media_id` as the "
                + "`content` of an `IMAGE` message.")
            .WithQuery(QueryParameter.GroupId)
            .AddOpenApiOperationTransformer((operation, _, _) => DescribeUpload(operation))
            .ProducesErrors(ErrorCodes.GroupIdEmpty, ErrorCodes.InvalidParameter, ErrorCodes.PayloadTooLarge, ErrorCodes.UnsupportedMediaType,
                ErrorCodes.GroupNotFound, ErrorCodes.UserNotFound, ErrorCodes.NotMember);
        media.MapGet("/{media_id}", Get)
            .WithName("GetImage").WithSummary("An image's bytes")
            .AddOpenApiOperationTransformer((operation, _, _) => DescribeImage(operation))
            .ProducesErrors(ErrorCodes.InvalidParameter, ErrorCodes.MediaNotFound, ErrorCodes.Forbidden);
    }

    private static async Task<Results<Ok<MediaResponse>, ApiErrorResult>> Upload(string? group_id, HttpContext context, ActorGateway actors,
        ImOptions options, CancellationToken cancellation)
    {
        if (RequestReader.CheckGroupIdQuery(group_id) is { } invalid) return ApiResults.Error(invalid);
        var (image, refused) = await ReadImage(context.Request, options.MediaMaxBytes, cancellation);
        if (refused is not null) return ApiResults.Error(refused);
        return ApiResults.From(await actors.AskMedia(new MediaCommands.Upload(group_id!, context.CallerOf(), image!), cancellation));
    }

    private static async Task<Results<FileContentHttpResult, ApiErrorResult>> Get(string media_id, HttpContext context, ActorGateway actors, CancellationToken cancellation)
    {
        if (RequestReader.CheckId("media_id", media_id) is { } invalid) return ApiResults.Error(invalid);
        var outcome = await actors.AskMedia(new MediaCommands.GetMedia(media_id, context.CallerOf()), cancellation);
        if (outcome.Error is { } error) return ApiResults.Error(error);
        var (media, bytes) = outcome.Value!;
        var headers = context.Response.Headers;
        // Private: a shared cache must not hand one patient's photo to anyone else.
        headers.CacheControl = "private, max-age=86400";
        headers.XContentTypeOptions = "nosniff";
        // The bytes never change under a media id, so their hash is a strong ETag; Results.Bytes answers If-None-Match with 304.
        return TypedResults.Bytes(bytes, media.ContentType, entityTag: new EntityTagHeaderValue($"\"{media.Sha256}\""));
    }

    /// <summary>
    /// The upload's bytes: the <c>file</c> field of a <c>multipart/form-data</c> body, or a raw
    /// <c>image/*</c> body. What the image really is comes later, from the bytes.
    /// </summary>
    private static async Task<(byte[]? Image, ApiError? Refused)> ReadImage(HttpRequest request, long maxBytes, CancellationToken cancellation)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType))
            return (null, UnsupportedType);
        var multipart = contentType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase);
        if (!multipart && !contentType.MediaType.StartsWith("image/", StringComparison.OrdinalIgnoreCase))
            return (null, UnsupportedType);
        var limit = maxBytes + (multipart ? MultipartOverhead : 0);
        if (request.ContentLength > limit) return (null, TooLarge(maxBytes));
        var body = await ReadAtMost(request.Body, limit, cancellation);
        if (body is null) return (null, TooLarge(maxBytes));
        if (!multipart) return (body, null);

        var boundary = HeaderUtilities.RemoveQuotes(contentType.Boundary).Value;
        if (string.IsNullOrEmpty(boundary)) return (null, ApiError.Invalid(FileField, "a multipart body needs a boundary"));
        // MultipartReader takes any length, and throws ArgumentOutOfRangeException on one that does not fit its 16 KiB buffer.
        if (boundary.Length > MaxBoundaryLength)
            return (null, ApiError.Invalid(FileField, $"a multipart boundary is at most {MaxBoundaryLength} characters"));
        try
        {
            var reader = new MultipartReader(boundary, new MemoryStream(body));
            while (await reader.ReadNextSectionAsync(cancellation) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                    || !HeaderUtilities.RemoveQuotes(disposition.Name).Equals(FileField, StringComparison.Ordinal))
                    continue;
                var file = await ReadAtMost(section.Body, maxBytes, cancellation);
                return file is null ? (null, TooLarge(maxBytes)) : (file, null);
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException)
        {
            // MultipartReader's answers to a body that is not multipart after all (IOException), and to part
            // headers it cannot read: a line without a colon, over 16 headers or 16 KiB of them (InvalidDataException).
            return (null, ApiError.Invalid(FileField, "the multipart body is malformed"));
        }
        return (null, ApiError.Invalid(FileField, "the multipart body has no file field"));
    }

    /// <summary>The stream's bytes, or null as soon as there are more than <paramref name="limit"/>.</summary>
    private static async Task<byte[]?> ReadAtMost(Stream stream, long limit, CancellationToken cancellation)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellation)) > 0)
        {
            if (buffer.Length + read > limit) return null;
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    // The body is read by hand (ReadImage), so the document learns its two forms here.
    private static Task DescribeUpload(OpenApiOperation operation)
    {
        var content = new Dictionary<string, OpenApiMediaType>
        {
            ["multipart/form-data"] = new()
            {
                Schema = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    Required = new HashSet<string> { FileField },
                    Properties = new Dictionary<string, IOpenApiSchema> { [FileField] = Binary() },
                },
            },
        };
        foreach (var type in ImageTypes) content[type] = new OpenApiMediaType { Schema = Binary() };
        operation.RequestBody = new OpenApiRequestBody { Required = true, Content = content, Description = "The image, at most Im__MediaMaxBytes (5 MiB by default)." };
        return Task.CompletedTask;
    }

    private static Task DescribeImage(OpenApiOperation operation)
    {
        operation.Responses ??= [];
        operation.Responses["200"] = new OpenApiResponse
        {
            Description = "The stored image, in the type it was stored as.",
            Content = ImageTypes.ToDictionary(type => type, _ => new OpenApiMediaType { Schema = Binary() }),
            Headers = new Dictionary<string, IOpenApiHeader>
            {
                ["ETag"] = Header("The image's sha256, quoted: a strong validator for If-None-Match."),
                ["Cache-Control"] = Header("private, max-age=86400: never a shared cache."),
                ["X-Content-Type-Options"] = Header("nosniff"),
            },
        };
        operation.Responses["304"] = new OpenApiResponse { Description = "Not Modified: If-None-Match named the image's ETag." };
        return Task.CompletedTask;
    }

    private static readonly string[] ImageTypes = [MediaTypes.Jpeg, MediaTypes.Png, MediaTypes.Webp, MediaTypes.Gif];

    private static OpenApiSchema Binary() => new() { Type = JsonSchemaType.String, Format = "binary" };

    private static OpenApiHeader Header(string description) =>
        new() { Description = description, Schema = new OpenApiSchema { Type = JsonSchemaType.String } };

    private static ApiError TooLarge(long maxBytes) => new(ErrorCodes.PayloadTooLarge, $"an image may be at most {maxBytes} bytes");

    private static readonly ApiError UnsupportedType = new(ErrorCodes.UnsupportedMediaType,
        "send the image as multipart/form-data (field \"file\") or as a raw image/* body");
}
