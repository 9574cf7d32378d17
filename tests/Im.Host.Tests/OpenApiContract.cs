using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace Im.Host.Tests;

/// <summary>
/// A served OpenAPI document as a judge of live answers: is this status declared for this operation,
/// this content type for this status, and does the body validate against its schema (JSON Schema
/// 2020-12, OpenAPI 3.1's dialect)? The component schemas go along as <c>$defs</c>.
/// </summary>
public sealed class OpenApiContract
{
    private const string ComponentsPrefix = "#/components/schemas/";
    private readonly JsonObject _defs;
    private readonly ConcurrentDictionary<string, JsonSchema> _built = new();

    private OpenApiContract(JsonObject document)
    {
        Document = document;
        _defs = (JsonObject)Rewrite(document["components"]?["schemas"]?.DeepClone() ?? new JsonObject());
    }

    public JsonObject Document { get; }

    public static async Task<OpenApiContract> Load(HttpClient http)
    {
        var text = await http.GetStringAsync("/openapi/v1.json");
        return new OpenApiContract(JsonNode.Parse(text)!.AsObject());
    }

    public JsonObject Paths => Document["paths"]!.AsObject();

    public JsonObject Schema(string component) =>
        Document["components"]?["schemas"]?[component] as JsonObject ?? throw new InvalidOperationException($"no component schema {component}");

    /// <summary>Every operation as (METHOD, path template, operation).</summary>
    public IEnumerable<(string Method, string Path, JsonObject Operation)> Operations() =>
        from path in Paths
        from method in path.Value!.AsObject()
        where method.Value is JsonObject && method.Key is "get" or "put" or "post" or "delete" or "patch" or "head" or "options"
        select (method.Key.ToUpperInvariant(), path.Key, method.Value!.AsObject());

    /// <summary>
    /// The documented path a concrete request path falls under, as routing picks it: literal segments
    /// win over parameters (<c>/api/message/list</c> is not <c>/api/message/{message_id}</c>).
    /// </summary>
    public string? TemplateFor(string method, string path)
    {
        var segments = path.Split('?')[0].Trim('/').Split('/');
        return Paths
            .Where(p => p.Value![method.ToLowerInvariant()] is JsonObject)
            .Select(p => (Template: p.Key, Parts: p.Key.Trim('/').Split('/')))
            .Where(t => t.Parts.Length == segments.Length
                && t.Parts.Zip(segments).All(pair => IsParameter(pair.First) ? pair.Second.Length > 0 : pair.First == pair.Second))
            .OrderByDescending(t => t.Parts.Count(part => !IsParameter(part)))
            .Select(t => t.Template)
            .FirstOrDefault();
    }

    /// <summary>What about this answer the document does not declare; empty when it all fits.</summary>
    public IReadOnlyList<string> Problems(string method, string path, int status, string? contentType, byte[] body)
    {
        if (TemplateFor(method, path) is not { } template) return [$"{method} {path} is not a documented operation"];
        var operation = Paths[template]![method.ToLowerInvariant()]!;
        var where = $"{method} {template} → {status}";
        if (operation["responses"]?[status.ToString(System.Globalization.CultureInfo.InvariantCulture)] is not JsonObject response)
        {
            var declared = string.Join(", ", operation["responses"]!.AsObject().Select(r => r.Key));
            return [$"{where} is not declared (declared: {declared}); body: {Preview(body)}"];
        }
        var content = response["content"] as JsonObject;
        if (body.Length == 0)
            return content is null ? [] : [$"{where}: an empty body, but the document declares {string.Join(", ", content.Select(c => c.Key))}"];
        if (content is null) return [$"{where}: a body the document does not declare: {Preview(body)}"];
        var mediaType = contentType?.Split(';')[0].Trim().ToLowerInvariant();
        if (mediaType is null || content[mediaType] is not JsonObject media)
            return [$"{where}: content type {contentType ?? "(none)"} is not among {string.Join(", ", content.Select(c => c.Key))}"];

        var schema = media["schema"] ?? throw new InvalidOperationException($"{where} {mediaType} has no schema");
        if (mediaType == "application/json")
        {
            using var json = JsonDocument.Parse(body);
            var problems = new List<string>();
            if (json.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object
                && error.TryGetProperty("code", out var code) && DeclaredCodes(schema) is { } codes && !codes.Contains(code.GetString()!))
                problems.Add($"{where}: error code {code.GetString()} is not declared (declared: {string.Join(", ", codes)})");
            problems.AddRange(Validate(schema, json.RootElement).Select(p => $"{where}: {p}; body: {Preview(body)}"));
            return problems;
        }
        if (mediaType == "text/plain")
        {
            using var text = JsonDocument.Parse(JsonSerializer.Serialize(System.Text.Encoding.UTF8.GetString(body)));
            return [.. Validate(schema, text.RootElement).Select(p => $"{where}: {p}")];
        }
        return schema["format"]?.GetValue<string>() == "binary" ? [] : [$"{where}: {mediaType} is not described as binary"];
    }

    /// <summary>The JSON Schema problems of an instance, empty when it is valid.</summary>
    public IReadOnlyList<string> Validate(JsonNode schema, JsonElement instance)
    {
        var text = schema.ToJsonString();
        var built = _built.GetOrAdd(text, _ =>
        {
            var root = schema is JsonObject fields ? (JsonObject)Rewrite(fields.DeepClone()) : new JsonObject { ["allOf"] = new JsonArray(Rewrite(schema.DeepClone())) };
            root["$schema"] = "https://json-schema.org/draft/2020-12/schema";
            root["$defs"] = _defs.DeepClone();
            using var document = JsonDocument.Parse(root.ToJsonString());
            return JsonSchema.Build(document.RootElement.Clone(), new BuildOptions(), new Uri($"https://imakka.test/schema/{Guid.NewGuid():N}"));
        });
        var result = built.Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.List });
        return result.IsValid ? [] : [.. Errors(result).DefaultIfEmpty("invalid")];
    }

    public IReadOnlyList<string> Validate(string component, JsonNode? instance)
    {
        using var document = JsonDocument.Parse(instance?.ToJsonString() ?? "null");
        return Validate(new JsonObject { ["$ref"] = ComponentsPrefix + component }, document.RootElement);
    }

    /// <summary>The <c>error.code</c> enum an error response schema narrows the code to.</summary>
    public static IReadOnlyList<string>? DeclaredCodes(JsonNode schema) =>
        (schema["allOf"] as JsonArray)?
            .Select(part => part?["properties"]?["error"]?["properties"]?["code"]?["enum"] as JsonArray)
            .FirstOrDefault(codes => codes is not null)?
            .Select(code => code!.GetValue<string>())
            .ToList();

    private static IEnumerable<string> Errors(EvaluationResults result)
    {
        if (result.Errors is { } errors)
            foreach (var (keyword, message) in errors)
                yield return $"{result.InstanceLocation} {keyword}: {message}";
        foreach (var detail in result.Details ?? [])
            foreach (var error in Errors(detail))
                yield return error;
    }

    // The document's references point into components; the validator reads them from $defs.
    private static JsonNode Rewrite(JsonNode node)
    {
        switch (node)
        {
            case JsonObject fields:
                foreach (var (name, value) in fields.ToList())
                {
                    if (name == "$ref" && value?.GetValue<string>() is { } target && target.StartsWith(ComponentsPrefix, StringComparison.Ordinal))
                        fields[name] = "#/$defs/" + target[ComponentsPrefix.Length..];
                    else if (value is not null) Rewrite(value);
                }
                break;
            case JsonArray items:
                foreach (var item in items)
                    if (item is not null) Rewrite(item);
                break;
        }
        return node;
    }

    private static bool IsParameter(string segment) => segment.StartsWith('{') && segment.EndsWith('}');

    private static string Preview(byte[] body) =>
        body.Length == 0 ? "(empty)" : System.Text.Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 300));
}
