using System.ComponentModel;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Im.Host.Tests;

/// <summary>
/// docker-compose.yml and the Dockerfile cannot be run here (no Docker engine), so they are checked
/// the way docker-compose itself reads them: <c>docker-compose config</c> must accept the file, and
/// the configuration it resolves must be the documented one. scripts/test.sh installs Debian's
/// docker-compose (1.29).
/// </summary>
public sealed partial class DeploymentSpecs
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);
    private static readonly string[] ComposeVariables =
        ["AI_ENDPOINT", "AI_API_KEY", "AI_MODEL", "AUTH_MODE", "JWT_KEY", "JWT_ISSUER", "JWT_AUDIENCE", "ALLOWED_ORIGINS"];

    [Fact]
    public async Task Should_resolve_the_compose_file_to_redis_and_two_clustered_hosts()
    {
        var config = await ComposeConfig();

        var services = await Compose("config", "--services");
        Assert.Equal(["im1", "im2", "redis"], services.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));

        var redis = Block(config, "services", "redis");
        Assert.Matches(@"- --appendonly\s*\n\s*- ['""]?yes['""]?", redis);
        Assert.Matches(@"- --appendfsync\s*\n\s*- always", redis);
        Assert.Contains("redis-cli ping", Block(redis, "healthcheck"), StringComparison.Ordinal);
        Assert.Matches(@"- redis-data:/data", Block(redis, "volumes"));
        Assert.Contains("redis-data", Block(config, "volumes"), StringComparison.Ordinal);

        foreach (var (name, published) in new[] { ("im1", 8001), ("im2", 8002) })
        {
            var host = Block(config, "services", name);
            Assert.Contains("/health/ready", Block(host, "healthcheck"), StringComparison.Ordinal);
            Assert.Matches(@"redis:\s*\n\s*condition: service_healthy", Block(host, "depends_on"));
            Assert.Matches($@"published: {published}\s*\n\s*target: 8000", Block(host, "ports"));
            Assert.Matches(@"context: /", Block(host, "build"));
            var environment = Block(host, "environment");
            Assert.Equal("http://0.0.0.0:8000", Setting(environment, "ASPNETCORE_URLS"));
            Assert.Equal("redis:6379", Setting(environment, "ConnectionStrings__Redis"));
            Assert.Equal(name, Setting(environment, "Akka__Hostname"));
            Assert.Equal(name, Setting(environment, "Akka__PublicHostname"));
            Assert.Equal("4053", Setting(environment, "Akka__Port"));
            // Both nodes list both seeds, in the same order, so they form one cluster.
            Assert.Equal("akka.tcp://im@im1:4053", Setting(environment, "Akka__SeedNodes__0"));
            Assert.Equal("akka.tcp://im@im2:4053", Setting(environment, "Akka__SeedNodes__1"));
            // No AI_ENDPOINT: empty, which the host reads as unset, so it uses its built-in stand-in.
            Assert.Equal("", Setting(environment, "Ai__Endpoint"));
            // Abuse is bounded out of the box; identity is the development mode until AUTH_MODE says otherwise.
            Assert.Equal("20", Setting(environment, "Im__SendRatePerSecond"));
            Assert.Equal("40", Setting(environment, "Im__SendBurst"));
            Assert.Equal("Header", Setting(environment, "Auth__Mode"));
        }
    }

    [Fact]
    public async Task Should_take_jwt_mode_and_its_key_from_the_environment()
    {
        var config = await ComposeConfig(new Dictionary<string, string>
        {
            ["AUTH_MODE"] = "Jwt",
            ["JWT_KEY"] = "a-key-of-at-least-thirty-two-bytes-long",
            ["JWT_ISSUER"] = "https://issuer.example",
            ["ALLOWED_ORIGINS"] = "https://clinic.example",
        });

        foreach (var name in new[] { "im1", "im2" })
        {
            var environment = Block(Block(config, "services", name), "environment");
            Assert.Equal("Jwt", Setting(environment, "Auth__Mode"));
            Assert.Equal("a-key-of-at-least-thirty-two-bytes-long", Setting(environment, "Auth__JwtKey"));
            Assert.Equal("https://issuer.example", Setting(environment, "Auth__Issuer"));
            Assert.Equal("https://clinic.example", Setting(environment, "Im__AllowedOrigins"));
        }
    }

    [Fact]
    public async Task Should_take_the_ai_endpoint_from_the_environment()
    {
        const string endpoint = "http://ai.example:11434/v1/chat/completions";
        var config = await ComposeConfig(new Dictionary<string, string> { ["AI_ENDPOINT"] = endpoint, ["AI_API_KEY"] = "secret" });

        foreach (var name in new[] { "im1", "im2" })
        {
            var environment = Block(Block(config, "services", name), "environment");
            Assert.Equal(endpoint, Setting(environment, "Ai__Endpoint"));
            Assert.Equal("secret", Setting(environment, "Ai__ApiKey"));
        }
    }

    [Fact]
    public void Should_build_an_image_that_publishes_im_host()
    {
        var root = RepoRoot();
        var dockerfile = File.ReadAllText(Path.Combine(root, "Dockerfile"));

        Assert.Matches(@"(?m)^FROM mcr\.microsoft\.com/dotnet/sdk:10\.0 AS build\s*$", dockerfile);
        Assert.Matches(@"(?m)^FROM mcr\.microsoft\.com/dotnet/aspnet:10\.0\b", dockerfile);
        Assert.Matches(@"(?m)^RUN dotnet publish src/Im\.Host/Im\.Host\.csproj -c Release\b.* -o /out\s*$", dockerfile);
        Assert.Matches(@"(?m)^COPY --from=build /out \./\s*$", dockerfile);
        Assert.Matches(@"(?m)^ENTRYPOINT \[""dotnet"", ""Im\.Host\.dll""\]\s*$", dockerfile);
        Assert.Matches(@"(?m)^EXPOSE 8000 4053\s*$", dockerfile);
        Assert.Matches(@"(?m)^HEALTHCHECK .*\n?.*/health/ready", dockerfile);

        // Restore runs before the sources are copied, so every file it reads must be copied first:
        // the build props, global.json, and the csproj of every project Im.Host builds.
        var restore = dockerfile.IndexOf("RUN dotnet restore", StringComparison.Ordinal);
        var sources = dockerfile.IndexOf("COPY src/ src/", StringComparison.Ordinal);
        Assert.True(restore > 0 && sources > restore, "restore must come before the sources are copied");
        var beforeRestore = dockerfile[..restore];
        foreach (var file in new[] { "global.json", "Directory.Build.props", "Directory.Packages.props" })
            Assert.Contains(file, beforeRestore, StringComparison.Ordinal);
        foreach (var csproj in Directory.GetFiles(Path.Combine(root, "src"), "*.csproj", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, csproj).Replace('\\', '/');
            Assert.Matches($@"(?m)^COPY {Regex.Escape(relative)} {Regex.Escape(Path.GetDirectoryName(relative)!.Replace('\\', '/'))}/\s*$", beforeRestore);
        }

        // Build outputs and local data never go into the build context.
        var ignored = File.ReadAllLines(Path.Combine(root, ".dockerignore")).Select(line => line.Trim()).ToHashSet(StringComparer.Ordinal);
        foreach (var pattern in new[] { "**/bin/", "**/obj/", "**/data/", ".git/", ".cluster/" })
            Assert.Contains(pattern, ignored);
    }

    private static Task<string> ComposeConfig(IReadOnlyDictionary<string, string>? environment = null) =>
        Compose(environment, "config");

    private static Task<string> Compose(params string[] arguments) => Compose(null, arguments);

    /// <summary>Runs docker-compose on the repository's compose file; fails the test on a non-zero exit.</summary>
    private static async Task<string> Compose(IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var file = Path.Combine(RepoRoot(), "docker-compose.yml");
        var info = new ProcessStartInfo(DockerCompose())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        info.ArgumentList.Add("-f");
        info.ArgumentList.Add(file);
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        // The resolved config must not depend on what the machine running the tests happens to set.
        foreach (var name in ComposeVariables) info.Environment.Remove(name);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;

        using var process = Process.Start(info)!;
        using var timeout = new CancellationTokenSource(CommandTimeout);
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"docker-compose {string.Join(' ', arguments)} did not finish within {CommandTimeout}");
        }
        var output = (await stdout).Replace("\r\n", "\n", StringComparison.Ordinal);
        Assert.True(process.ExitCode == 0,
            $"docker-compose -f {file} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{await stderr}\n{output}");
        return output;
    }

    /// <summary>The docker-compose executable on PATH; the test fails, with the way to get it, when there is none.</summary>
    private static string DockerCompose()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, "docker-compose");
            if (File.Exists(candidate)) return candidate;
        }
        Assert.Fail("docker-compose is not installed, so docker-compose.yml cannot be validated. scripts/test.sh installs it "
            + "(as root: apt-get install -y --no-install-recommends docker-compose).");
        throw new Win32Exception("unreachable");
    }

    /// <summary>
    /// The lines under <c>key:</c> (nested keys in turn) in the YAML docker-compose prints. It always
    /// writes block style with two-space indents and list items at their key's indent, so a block is
    /// the lines after its key that are indented deeper, or as deep and start with <c>-</c>.
    /// </summary>
    private static string Block(string yaml, params string[] path)
    {
        var lines = yaml.Split('\n');
        int start = 0, end = lines.Length;
        foreach (var key in path)
        {
            var children = lines[start..end].Where(line => line.Trim().Length > 0).Select(Indent).DefaultIfEmpty(0).Min();
            var found = Array.FindIndex(lines, start, end - start, line => Indent(line) == children && line.Trim() == key + ":");
            Assert.True(found >= 0, $"'{string.Join('.', path)}' is not in the resolved config:\n{yaml}");
            var indent = Indent(lines[found]);
            start = found + 1;
            end = start;
            while (end < lines.Length && (lines[end].Trim().Length == 0 || Indent(lines[end]) > indent
                || (Indent(lines[end]) == indent && lines[end].TrimStart().StartsWith('-')))) end++;
        }
        return string.Join('\n', lines[start..end]);
    }

    private static int Indent(string line) => line.Length - line.TrimStart(' ').Length;

    /// <summary>The value of <c>name: value</c> in an environment block, without YAML quotes.</summary>
    private static string? Setting(string environment, string name)
    {
        var match = Regex.Match(environment, $@"(?m)^\s*{Regex.Escape(name)}:[ ]?(.*)$");
        if (!match.Success) return null;
        var value = match.Groups[1].Value.Trim();
        return value.Length >= 2 && (value[0] is '\'' or '"') && value[^1] == value[0] ? value[1..^1] : value;
    }

    private static string RepoRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "ImAkka.sln"))) directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("ImAkka.sln not found above " + AppContext.BaseDirectory);
    }
}
