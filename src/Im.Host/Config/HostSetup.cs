using System.Text.Json.Serialization;
using Im.Actors;
using Im.Actors.Ai;
using Im.Actors.Storage;
using Im.Contracts;
using Im.Host.Api;
using Im.Host.OpenApi;
using Im.Host.Storage;
using Im.Host.WebSockets;
using StackExchange.Redis;

namespace Im.Host.Config;

/// <summary>
/// The whole composition, in start-up order: embedded store (if no Redis is configured), Redis
/// connection, ActorSystem and cluster, then endpoints.
/// </summary>
public static class HostSetup
{
    public const string DefaultUrl = "http://localhost:8000";

    public static async Task AddImHost(this WebApplicationBuilder builder)
    {
        var config = builder.Configuration;
        if (string.IsNullOrEmpty(config[WebHostDefaults.ServerUrlsKey]))
            builder.WebHost.UseUrls(DefaultUrl);
        builder.Logging.KeepTokensOutOfLogs();

        var im = config.GetSection("Im").Get<ImOptions>() ?? new ImOptions();
        var redisOptions = config.GetSection("Redis").Get<RedisOptions>() ?? new RedisOptions();
        var auth = config.GetSection("Auth").Get<AuthOptions>() ?? new AuthOptions();
        var ai = config.GetSection("Ai").Get<AiSettings>() ?? new AiSettings();
        var node = config.GetSection("Akka").Get<AkkaNodeOptions>() ?? new AkkaNodeOptions();
        builder.Services.AddSingleton(im).AddSingleton(auth).AddSingleton(ai).AddSingleton(node);

        var (redis, storeInfo) = await ConnectStore(builder, config.GetConnectionString("Redis"), im);
        builder.Services.AddSingleton(storeInfo);
        var store = new ImStore(redis, StoreKeys.For(redis, redisOptions.KeyPrefix), TimeProvider.System);
        var aiEndpoint = new AiEndpointResolver(ai);
        builder.Services.AddSingleton(redis).AddSingleton(store).AddSingleton(aiEndpoint);
        builder.Services.AddHostedService<AiEndpointResolver.AddressBinder>();

        var metrics = new ImMetrics();
        builder.AddImTelemetry(metrics);
        var sendRate = new SendRateLimiter(im.SendRatePerSecond, im.SendBurst);
        var services = new ImActorServices(redis, store, ai, new AiClient(ai, aiEndpoint), im.AskTimeout, im.MediaLimits, metrics, sendRate)
        {
            PassivateAfter = im.PassivateAfter,
        };
        builder.AddImAkka(services, node, im.DataDir);
        builder.Services.AddSingleton<ActorGateway>();
        builder.Services.AddSingleton<SessionStarter>();
        builder.Services.AddSingleton(sendRate);
        builder.Services.AddSingleton(new ConnectionLimiter(im.MaxConnectionsPerUser));

        builder.AddImIdentity(auth);
        builder.AddOpsAuthorization(config.GetSection("Ops").Get<OpsOptions>() ?? new OpsOptions());
        builder.Services.AddHostedService<StartupReport>();
        builder.Services.AddCors(cors => cors.AddDefaultPolicy(policy =>
        {
            if (im.AllowedOriginList.Count == 0) policy.AllowAnyOrigin();
            else policy.WithOrigins([.. im.AllowedOriginList]);
            policy.AllowAnyHeader().AllowAnyMethod().WithExposedHeaders("Retry-After");
        }));
        builder.Services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", tags: [HealthTags.Ready]);
        builder.Services.AddProblemDetails();
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            ImJson.Apply(json.SerializerOptions);
            // These options only write (RequestReader parses bodies), and the Web defaults' leniency for
            // reading numbers from strings would make the document say every number may be a string.
            json.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
        });
        builder.Services.AddImOpenApi();
    }

    public static void MapImHost(this WebApplication app)
    {
        app.UseRequestLog();
        app.UseImErrorHandling();
        app.UseRouting();
        app.UseCors();
        var webSockets = new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) };
        // Browsers send Origin on a WebSocket handshake; others are refused 403. Clients that send none are not browsers.
        foreach (var origin in app.Services.GetRequiredService<ImOptions>().AllowedOriginList) webSockets.AllowedOrigins.Add(origin);
        app.UseWebSockets(webSockets);
        app.UseAuthentication();
        app.UseAuthorization();

        app.MapHealth();
        app.MapMetrics();
        app.MapOpsApi();
        app.MapImOpenApi();
        // Every /api and /ws request may meet the readiness gate (503) or an unexpected failure (500).
        var api = app.MapGroup("/api").RequireAuthorization(Identity.ApiPolicy)
            .ProducesErrors(ErrorCodes.ServiceUnavailable, ErrorCodes.InternalError);
        api.MapInfoApi();
        api.MapUserApi();
        api.MapGroupApi();
        api.MapMessageApi();
        api.MapMediaApi();
        api.MapAiApi();
        app.MapGroup("/ws").RequireAuthorization(Identity.ApiPolicy)
            .ProducesErrors(ErrorCodes.ServiceUnavailable, ErrorCodes.InternalError).MapWebSocketApi();
        if (string.IsNullOrEmpty(app.Services.GetRequiredService<AiSettings>().Endpoint)) app.MapStandInAi();
    }

    /// <summary>
    /// What the node does to the store once, before it serves: a store of the previous key layout moved
    /// to this one, and the AI assistant's user (<see cref="StoreMaintenance"/>). A store that cannot be reached is waited for
    /// (requests answer 503 until it is back); one that refuses gets one log line, and false: the host
    /// exits with <see cref="StoreRefusal.ExitCode"/>.
    /// </summary>
    public static async Task<bool> PrepareStore(this WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Im.Host.Startup");
        try
        {
            var moved = await StoreMaintenance.Run(app.Services.GetRequiredService<ImStore>(), app.Services.GetRequiredService<AiSettings>());
            if (moved.Count > 0)
                logger.LogWarning("Moved the store {Store} to the cluster key layout (layout {Layout}): {Moved}",
                    app.Services.GetRequiredService<StoreInfo>(), KeyLayoutMigration.CurrentLayout, KeyLayoutMigration.Describe(moved));
            return true;
        }
        catch (Exception ex) when (StoreRefusal.Answer(ex) is { } answer)
        {
            logger.LogCritical("The store {Store} refused ImAkka's start-up: {Answer} {Hint} Exiting with code {ExitCode}.",
                app.Services.GetRequiredService<StoreInfo>(), answer, StoreRefusal.Hint(answer), StoreRefusal.ExitCode);
            return false;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            logger.LogError(ex, "Start-up maintenance of the store failed; is the store reachable? Requests answer 503 until it is");
            return true;
        }
    }

    private static async Task<(IConnectionMultiplexer Redis, StoreInfo Store)> ConnectStore(WebApplicationBuilder builder,
        string? connectionString, ImOptions im)
    {
        StoreInfo? store = null;
        if (string.IsNullOrEmpty(connectionString))
        {
            var garnet = EmbeddedGarnet.Start(im.DataDir);
            builder.Services.AddSingleton(garnet);
            store = new StoreInfo("embedded", $"Garnet, data in {Path.GetFullPath(im.DataDir)}");
            connectionString = garnet.ConnectionString;
        }
        var options = ConfigurationOptions.Parse(connectionString);
        // Keep retrying instead of failing start-up; requests answer 503 until the store is back.
        options.AbortOnConnectFail = false;
        return (await ConnectionMultiplexer.ConnectAsync(options), store ?? new StoreInfo("redis", string.Join(", ", options.EndPoints)));
    }
}
