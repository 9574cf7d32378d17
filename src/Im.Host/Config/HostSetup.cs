using System.Text;
using Im.Actors;
using Im.Actors.Ai;
using Im.Actors.Storage;
using Im.Host.Api;
using Im.Host.Storage;
using Im.Host.WebSockets;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.Tokens;
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

        var im = config.GetSection("Im").Get<ImOptions>() ?? new ImOptions();
        var redisOptions = config.GetSection("Redis").Get<RedisOptions>() ?? new RedisOptions();
        var auth = config.GetSection("Auth").Get<AuthOptions>() ?? new AuthOptions();
        var ai = config.GetSection("Ai").Get<AiSettings>() ?? new AiSettings();
        var node = config.GetSection("Akka").Get<AkkaNodeOptions>() ?? new AkkaNodeOptions();
        builder.Services.AddSingleton(im).AddSingleton(auth).AddSingleton(ai).AddSingleton(node);

        var redis = await ConnectStore(builder, config.GetConnectionString("Redis"), im);
        var store = new ImStore(redis, new StoreKeys(redisOptions.KeyPrefix), TimeProvider.System);
        var aiEndpoint = new AiEndpointResolver(ai);
        builder.Services.AddSingleton(redis).AddSingleton(store).AddSingleton(aiEndpoint);
        builder.Services.AddHostedService<AiEndpointResolver.AddressBinder>();

        var services = new ImActorServices(redis, store, ai, new AiClient(ai, aiEndpoint), im.AskTimeout);
        builder.AddImAkka(services, node);
        builder.Services.AddSingleton<ActorGateway>();
        builder.Services.AddSingleton<SessionStarter>();

        builder.Services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", tags: [HealthTags.Ready]);
        builder.Services.AddProblemDetails();
        if (auth.UsesJwt) AddJwt(builder, auth);
    }

    public static void MapImHost(this WebApplication app)
    {
        app.UseImErrorHandling();
        if (app.Services.GetRequiredService<AuthOptions>().UsesJwt) app.UseAuthentication();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
        app.MapHealth();
        app.MapUserApi();
        app.MapGroupApi();
        app.MapMessageApi();
        app.MapAiApi();
        app.MapWebSocketApi();
        if (string.IsNullOrEmpty(app.Services.GetRequiredService<AiSettings>().Endpoint)) app.MapStandInAi();
    }

    private static async Task<IConnectionMultiplexer> ConnectStore(WebApplicationBuilder builder, string? connectionString, ImOptions im)
    {
        if (string.IsNullOrEmpty(connectionString))
        {
            var garnet = EmbeddedGarnet.Start(im.DataDir);
            builder.Services.AddSingleton(garnet);
            connectionString = garnet.ConnectionString;
        }
        var options = ConfigurationOptions.Parse(connectionString);
        // Keep retrying instead of failing start-up; requests answer 503 until the store is back.
        options.AbortOnConnectFail = false;
        return await ConnectionMultiplexer.ConnectAsync(options);
    }

    private static void AddJwt(WebApplicationBuilder builder, AuthOptions auth)
    {
        var key = Encoding.UTF8.GetBytes(auth.JwtKey ?? "");
        if (key.Length < 32)
            throw new InvalidOperationException("Auth__Mode=Jwt needs Auth__JwtKey of at least 32 bytes.");
        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(options =>
        {
            options.MapInboundClaims = false;
            options.TokenValidationParameters = new TokenValidationParameters
            {
                ValidateIssuer = false,
                ValidateAudience = false,
                ValidateLifetime = true,
                IssuerSigningKey = new SymmetricSecurityKey(key),
                ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            };
            // Browsers cannot set headers on a WebSocket handshake, so the token comes in the query.
            options.Events = new JwtBearerEvents
            {
                OnMessageReceived = context =>
                {
                    if (context.Request.Path.StartsWithSegments("/ws") && context.Request.Query["access_token"] is { Count: > 0 } token)
                        context.Token = token;
                    return Task.CompletedTask;
                },
            };
        });
    }
}
