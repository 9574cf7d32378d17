using ImAkka.Baselines;

// One binary, three servers, chosen by --mode, so each runs in a process of its own and its CPU and
// memory can be read from /proc without the others in them:
//   bare   the same Redis work per message as ImAkka (ImStore's append script) behind a bare Kestrel
//          endpoint, and a bare WebSocket broadcaster over the same pub/sub events, without actors
//   echo   a bare Kestrel WebSocket echo, the floor for an idle socket's memory
//   ai     a stand-in chat-completions service that answers after 1–2 s
var mode = ArgValue(args, "--mode") ?? throw new ArgumentException("--mode bare|echo|ai is required");
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.Logging.AddConsole().SetMinimumLevel(LogLevel.Warning);

var app = mode switch
{
    "bare" => await BareServer.Build(builder),
    "echo" => EchoServer.Build(builder),
    "ai" => StandInAi.Build(builder),
    _ => throw new ArgumentException($"unknown --mode {mode}"),
};
await app.RunAsync();

static string? ArgValue(string[] args, string name)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
}
