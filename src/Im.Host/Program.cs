using Im.Host.Config;

// appsettings.json is read from beside the binary, whatever directory the host is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
await builder.AddImHost();
var app = builder.Build();
app.MapImHost();
if (!await app.PrepareStore()) return Im.Host.Storage.StoreRefusal.ExitCode;
await app.RunAsync();
return 0;

/// <summary>Entry point, public for tests that reference the host.</summary>
public partial class Program;
