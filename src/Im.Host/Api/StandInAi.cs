using System.Globalization;
using System.Text.Json;
using Im.Actors.Ai;
using Im.Contracts;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Im.Host.Api;

/// <summary>
/// The built-in AI stand-in: an OpenAI-compatible chat-completions endpoint that answers
/// deterministically, so a fresh clone gets AI replies with no AI service at hand. It is called
/// over HTTP like a real service; only loopback callers are served.
/// </summary>
public static class StandInAi
{
    public const string Path = "/dev/ai/v1/chat/completions";

    public static void MapStandInAi(this IEndpointRouteBuilder app) => app.MapPost(Path, Answer);

    private static async Task<IResult> Answer(HttpContext context, CancellationToken cancellation)
    {
        if (context.Connection.RemoteIpAddress is not { } remote || !System.Net.IPAddress.IsLoopback(remote))
            return ApiResults.Error(ErrorCodes.NotFound, "no such route");
        var (document, error) = await JsonBody.Read(context.Request, cancellation);
        if (error is not null) return error;
        using (document)
        {
            var last = document!.RootElement.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array
                ? messages.EnumerateArray().LastOrDefault()
                : default;
            var question = last.ValueKind == JsonValueKind.Object && last.TryGetProperty("content", out var content)
                && content.ValueKind == JsonValueKind.String ? content.GetString() ?? "" : "";
            var answer = string.Create(CultureInfo.InvariantCulture,
                $"您好，我是AI助手（内置演示）。已收到您的{Limits.CountCharacters(question)}字问题，医生会尽快查看并回复。如症状加重，请及时就医。");
            return Results.Json(new
            {
                id = "standin-" + Guid.NewGuid().ToString("N"),
                @object = "chat.completion",
                model = "stand-in",
                choices = new[] { new { index = 0, message = new { role = "assistant", content = answer }, finish_reason = "stop" } },
            }, ImJson.Options);
        }
    }
}

/// <summary>
/// The AI URL: <c>Ai__Endpoint</c>, or this host's own stand-in, whose address is known only once
/// the server listens (the port may be chosen by the OS).
/// </summary>
public sealed class AiEndpointResolver(AiSettings settings) : IAiEndpoint
{
    private string? _standIn;

    public string Url => string.IsNullOrEmpty(settings.Endpoint)
        ? _standIn ?? throw new InvalidOperationException("The stand-in AI address is not known before the server starts.")
        : settings.Endpoint;

    /// <summary>Learns the stand-in's address from the server once it listens.</summary>
    public sealed class AddressBinder(AiEndpointResolver resolver, IServiceProvider services) : IHostedLifecycleService
    {
        public Task StartedAsync(CancellationToken cancellationToken)
        {
            var addresses = services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            var address = addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.Ordinal)) ?? addresses.FirstOrDefault();
            if (address is not null)
            {
                var uri = new UriBuilder(address.Replace("://+", "://localhost").Replace("://*", "://localhost"));
                if (uri.Host is "0.0.0.0" or "[::]" or "::") uri.Host = "127.0.0.1";
                resolver._standIn = uri.Uri.GetLeftPart(UriPartial.Authority) + StandInAi.Path;
            }
            return Task.CompletedTask;
        }

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
