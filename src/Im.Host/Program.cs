using Im.Host.Config;

var builder = WebApplication.CreateBuilder(args);
await builder.AddImHost();
var app = builder.Build();
app.MapImHost();
await app.RunAsync();

/// <summary>Entry point, public for tests that reference the host.</summary>
public partial class Program;
