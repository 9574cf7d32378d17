using System.Collections.Concurrent;
using Akka.Cluster;
using Im.Actors.Clustering;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Im.Actors.Tests;

/// <summary>The membership log of a real one-node cluster, read from the logger the actor writes to.</summary>
public sealed class MembershipLoggerSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit("""
    akka.actor.provider = cluster
    akka.remote.dot-netty.tcp.port = 0
    akka.remote.dot-netty.tcp.hostname = 127.0.0.1
    akka.loglevel = WARNING
    """, output: output)
{
    private readonly CapturingLoggers _loggers = new();

    [Fact]
    public async Task Should_say_when_a_member_comes_up_and_who_leads_under_its_own_category()
    {
        var cluster = Cluster.Get(Sys);

        Sys.ActorOf(MembershipLogger.Props(_loggers), "membership-log");
        await cluster.JoinAsync(cluster.SelfAddress);

        await AwaitAssertAsync(() =>
        {
            Assert.Contains((MembershipLogger.Category, LogLevel.Information, $"Cluster member {cluster.SelfAddress} is up (roles [])"), _loggers.Lines);
            Assert.Contains((MembershipLogger.Category, LogLevel.Information, $"Cluster leader is now {cluster.SelfAddress}"), _loggers.Lines);
        });
    }

    [Fact]
    public async Task Should_warn_when_a_member_is_downed()
    {
        var cluster = Cluster.Get(Sys);
        Sys.ActorOf(MembershipLogger.Props(_loggers), "membership-log");
        await cluster.JoinAsync(cluster.SelfAddress);

        cluster.Down(cluster.SelfAddress);

        await AwaitAssertAsync(() =>
            Assert.Contains((MembershipLogger.Category, LogLevel.Warning, $"Cluster member {cluster.SelfAddress} was downed"), _loggers.Lines));
    }

    /// <summary>A logger factory that keeps every line, with its category and level.</summary>
    private sealed class CapturingLoggers : ILoggerFactory
    {
        private readonly ConcurrentQueue<(string, LogLevel, string)> _lines = new();

        public IReadOnlyCollection<(string Category, LogLevel Level, string Message)> Lines => _lines.ToArray();

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

        public void AddProvider(ILoggerProvider provider) { }

        public void Dispose() { }

        private sealed class Logger(string category, ConcurrentQueue<(string, LogLevel, string)> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue((category, logLevel, formatter(state, exception)));
        }
    }
}
