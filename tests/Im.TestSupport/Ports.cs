using System.Net;
using System.Net.Sockets;

namespace Im.TestSupport;

public static class Ports
{
    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Waits for a condition by checking it again, never by sleeping a fixed time and hoping.</summary>
public static class Eventually
{
    public static async Task True(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await condition()) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Timed out after {timeout} waiting for: {what}");
            await Task.Delay(50);
        }
    }

    public static Task True(Func<bool> condition, TimeSpan timeout, string what) =>
        True(() => Task.FromResult(condition()), timeout, what);
}
