using System.Text.Json;

namespace Im.Contracts;

/// <summary>
/// What a client's frame is, read once: the closed set a session acts on. A new client frame
/// (<c>resume</c>, <c>typing</c>, <c>read</c>) is one more record here and one more case in the
/// session. A send keeps its fields' verdict inside, since the send rate is judged before them.
/// </summary>
public abstract record ClientFrame
{
    private ClientFrame() { }

    /// <summary>The frame's <c>client_msg_id</c> when it had a valid one, echoed in any <c>error</c> frame that answers it.</summary>
    public string? ClientMsgId { get; private init; }

    public sealed record Ping : ClientFrame;

    /// <param name="Parsed">The send's fields, or the error they earn (after the send rate's own check).</param>
    public sealed record SendMessage(Outcome<SendMessageFrame> Parsed) : ClientFrame;

    public sealed record AiStop(Outcome<AiStopFrame> Parsed) : ClientFrame;

    /// <summary>Not a frame this server takes: answered with an <c>error</c> frame, and the connection stays open.</summary>
    public sealed record Refused(ApiError Error) : ClientFrame;

    /// <summary>Reads a text frame (<paramref name="text"/> null for a binary one).</summary>
    public static ClientFrame Read(string? text)
    {
        if (text is null) return new Refused(new ApiError(ErrorCodes.InvalidFrame, "binary frames are not supported; send JSON text"));
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text, ImJson.DocumentOptions);
        }
        // ArgumentException: a lone surrogate in the text cannot be transcoded to UTF-8 for the parser.
        catch (Exception ex) when (ex is JsonException or ArgumentException)
        {
            return new Refused(new ApiError(ErrorCodes.InvalidFrame, "the frame is not valid JSON"));
        }
        using (document)
        {
            var frame = document.RootElement;
            ClientFrame read = RequestReader.FrameType(frame) switch
            {
                null => new Refused(new ApiError(ErrorCodes.InvalidFrame, "a frame is a JSON object with a \"type\" string")),
                FrameTypes.Ping => new Ping(),
                FrameTypes.SendMessage => new SendMessage(RequestReader.SendMessageFrame(frame)),
                FrameTypes.AiStop => new AiStop(RequestReader.AiStopFrame(frame)),
                _ => new Refused(new ApiError(ErrorCodes.UnknownType, "unknown frame type")),
            };
            return read with { ClientMsgId = RequestReader.ClientMsgIdOf(frame) };
        }
    }
}
