using Microsoft.Extensions.Options;

namespace Im.Host.Config;

public static class LogHygiene
{
    /// <summary>ASP.NET Core's "Request starting/finished" lines, which print the full URL.</summary>
    private const string HostingRequests = "Microsoft.AspNetCore.Hosting.Diagnostics";

    /// <summary>
    /// A WebSocket's token comes in its URL (<c>?access_token=</c>) and ASP.NET's hosting logs print
    /// URLs whole, at Information and below. Those lines are held at Warning for every provider,
    /// after the configuration is applied, so no log level setting brings them back.
    /// </summary>
    public static void KeepTokensOutOfLogs(this ILoggingBuilder logging) =>
        logging.Services.AddSingleton<IPostConfigureOptions<LoggerFilterOptions>>(new PostConfigureOptions<LoggerFilterOptions>(
            Options.DefaultName, options =>
            {
                var providers = options.Rules.Select(rule => rule.ProviderName).Distinct().ToList();
                if (!providers.Contains(null)) providers.Add(null);
                foreach (var provider in providers)
                    options.Rules.Add(new LoggerFilterRule(provider, HostingRequests, LogLevel.Warning, null));
            }));
}
