using System.Reflection;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Im.Host.OpenApi;

/// <summary>The document's title, what holds for every operation, the security schemes and the tags.</summary>
public sealed class DocumentInfo : IOpenApiDocumentTransformer
{
    private static readonly string Version =
        typeof(DocumentInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    private static readonly Dictionary<string, string> Tags = new()
    {
        ["Users"] = "Spec 2.1.",
        ["Groups"] = "Spec 2.2, plus member removal. A member's `user_role` is their role in that group.",
        ["Messages"] = "Spec 2.3. `seq` orders a group's messages 1, 2, 3, … with no gap.",
        ["AI"] = "Spec 3.1: AI interaction records.",
        ["Media"] = "Images: uploaded to a group by its members, sent as IMAGE messages, read like the group's messages.",
        ["Info"] = "What a client needs before it logs in.",
        ["WebSocket"] = "Spec section 4: pushes and sends over one socket per device.",
        ["Health"] = "Liveness and readiness, open in both modes.",
    };

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo
        {
            Title = "ImAkka",
            Version = Version,
            Description = """
                Real-time IM for medical consultation groups: the v0.2 contract (docs/spec/im-api-v0.2.md) and the README's additions.

                - Every error is `{"error":{"code","message","details"}}`; each operation lists the codes it can answer per status.
                - Lengths count Unicode characters (code points); ids are at most 64 of them.
                - JSON is UTF-8, snake_case, with absent optional fields written as `null`.
                - Identity: `Auth__Mode=Header` (development) names the caller in `X-User-Id`; `Auth__Mode=Jwt` takes a bearer token.
                - WebSocket frames are the `ClientFrame` and `ServerFrame` schemas; connect with `GET /ws/{user_id}`.
                """,
        };
        SecurityRequirements.AddSchemes(document);
        document.Tags ??= new HashSet<OpenApiTag>();
        foreach (var (name, description) in Tags)
        {
            if (document.Tags.FirstOrDefault(t => t.Name == name) is { } tag) tag.Description = description;
            else document.Tags.Add(new OpenApiTag { Name = name, Description = description });
        }
        return Task.CompletedTask;
    }
}
