using Im.TestSupport;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Im.End2End.Tests;

/// <summary>
/// The pages people open, in a real headless Chromium (Debian's, driven by Playwright; never a
/// browser download): the operators' /ops page on a two-node cluster and the integrators' /docs.
/// Nothing may go wrong in the browser's console, and nothing may be fetched from outside the host.
/// Screenshots are kept under artifacts/screenshots.
/// </summary>
[Collection(EndToEnd.Name)]
public sealed class BrowserSpecs(ITestOutputHelper output)
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task Should_show_every_node_on_the_ops_page_and_the_docs_without_reaching_outside()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: scripts/test.sh installs Debian's chromium (apt-get install chromium)");
        await using var cluster = await LocalCluster.Start(2);
        var (first, second) = (cluster.Nodes[0], cluster.Nodes[1]);
        await using var patientSocket = await WsClient.Connect(second.BaseAddress, (await second.Api.CreateUser("PATIENT")).UserId);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var problems = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type is "error" or "warning") problems.Add($"console {message.Type}: {message.Text}");
        };
        page.PageError += (_, error) => problems.Add("page error: " + error);
        page.Response += (_, response) =>
        {
            if (response.Status >= 400) problems.Add($"{response.Status} for {response.Url}");
        };
        page.Request += (_, request) =>
        {
            if (!request.Url.StartsWith(first.BaseAddress.ToString().TrimEnd('/'), StringComparison.Ordinal)
                && !request.Url.StartsWith("data:", StringComparison.Ordinal))
                problems.Add("a request outside the host: " + request.Url);
        };

        await page.GotoAsync(new Uri(first.BaseAddress, "/ops").ToString());
        var nodes = page.GetByTestId("ops-node");
        await Expect(nodes).ToHaveCountAsync(2, new LocatorAssertionsToHaveCountOptions { Timeout = 30_000 });
        var addresses = new List<string>();
        for (var i = 0; i < 2; i++) addresses.Add((await nodes.Nth(i).GetAttributeAsync("data-address"))!);
        Assert.All(addresses, address => Assert.StartsWith("akka.tcp://im@127.0.0.1:", address, StringComparison.Ordinal));
        Assert.Equal(2, addresses.Distinct().Count());
        // The second node's own figures: the socket opened there.
        await Expect(page.Locator("[data-testid=ops-node][data-self=false] [data-testid=ops-sessions]"))
            .ToHaveTextAsync("1", new LocatorAssertionsToHaveTextOptions { Timeout = 15_000 });
        await Screenshot(page, "ops.png", fullPage: true);

        await page.GotoAsync(new Uri(first.BaseAddress, "/docs").ToString());
        // The document's own introduction, and a group per API area (Scalar opens the first one).
        await Expect(page.GetByText("Real-time IM for medical consultation groups").First)
            .ToBeVisibleAsync(new LocatorAssertionsToBeVisibleOptions { Timeout = 30_000 });
        foreach (var area in new[] { "Users", "Groups", "Messages", "Media", "WebSocket" })
            await Expect(page.GetByText(area, new PageGetByTextOptions { Exact = true }).First).ToBeVisibleAsync();
        await Screenshot(page, "docs.png", fullPage: false);

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    private async Task Screenshot(IPage page, string name, bool fullPage)
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root!.FullName, "ImAkka.sln"))) root = root.Parent;
        var path = Path.Combine(root.FullName, "artifacts", "screenshots", name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = fullPage });
        output.WriteLine("screenshot: " + path);
    }
}
