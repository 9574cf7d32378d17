using System.Text.Json.Nodes;
using Im.Contracts;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Im.Host.OpenApi;

/// <summary>
/// The WebSocket frames as JSON Schemas in the document's components, generated from the frame
/// records the server writes (and the send_message record it reads into), each with its
/// <c>type</c> as a constant; <c>ClientFrame</c> and <c>ServerFrame</c> tell them apart by it.
/// </summary>
public sealed class WebSocketFrames : IOpenApiDocumentTransformer
{
    public const string ClientFrame = "ClientFrame";
    public const string ServerFrame = "ServerFrame";

    public async Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        async Task<(string Type, string Component)> FromRecord<T>(string type)
        {
            var schema = await context.GetOrCreateSchemaAsync(typeof(T), null, cancellationToken);
            return Add(document, typeof(T).Name, type, schema);
        }

        List<(string Type, string Component)> client =
        [
            await FromRecord<SendMessageFrame>(FrameTypes.SendMessage),
            // ping carries nothing but its type, so no record stands behind it.
            Add(document, "PingFrame", FrameTypes.Ping, new OpenApiSchema { Type = JsonSchemaType.Object }),
            await FromRecord<AiStopFrame>(FrameTypes.AiStop),
        ];
        List<(string Type, string Component)> server =
        [
            await FromRecord<ConnectedFrame>(FrameTypes.Connected),
            await FromRecord<MessageSentFrame>(FrameTypes.MessageSent),
            await FromRecord<AiReplyFrame>(FrameTypes.AiReply),
            await FromRecord<AiStateFrame>(FrameTypes.AiState),
            await FromRecord<AiDeltaFrame>(FrameTypes.AiDelta),
            await FromRecord<AiDraftFrame>(FrameTypes.AiDraft),
            await FromRecord<GroupUpdatedFrame>(FrameTypes.GroupUpdated),
            await FromRecord<PongFrame>(FrameTypes.Pong),
            await FromRecord<ErrorFrame>(FrameTypes.Error),
        ];
        document.AddComponent(ClientFrame, OneOf(document, client, "A frame the client sends (text, JSON, at most 64 KiB)."));
        document.AddComponent(ServerFrame, OneOf(document, server, "A frame the server pushes."));
    }

    private static (string Type, string Component) Add(OpenApiDocument document, string component, string type, OpenApiSchema schema)
    {
        schema.Type = JsonSchemaType.Object;
        schema.Properties ??= new Dictionary<string, IOpenApiSchema>();
        schema.Properties["type"] = new OpenApiSchema { Type = JsonSchemaType.String, Const = type, Enum = [(JsonNode)type] };
        schema.Required ??= new HashSet<string>();
        schema.Required.Add("type");
        if (document.Components?.Schemas?.ContainsKey(component) != true) document.AddComponent(component, schema);
        return (type, component);
    }

    private static OpenApiSchema OneOf(OpenApiDocument document, List<(string Type, string Component)> frames, string description) => new()
    {
        Description = description,
        OneOf = [.. frames.Select(f => (IOpenApiSchema)new OpenApiSchemaReference(f.Component, document))],
        Discriminator = new OpenApiDiscriminator
        {
            PropertyName = "type",
            Mapping = frames.ToDictionary(f => f.Type, f => new OpenApiSchemaReference(f.Component, document)),
        },
    };
}
