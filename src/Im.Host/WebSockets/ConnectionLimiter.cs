namespace Im.Host.WebSockets;

/// <summary>
/// Counts each user's open WebSockets on this node (<c>Im__MaxConnectionsPerUser</c>). A slot is
/// taken before the session starts and given back when the connection ends, however it ends.
/// </summary>
public sealed class ConnectionLimiter(int maxPerUser)
{
    private readonly Dictionary<string, int> _open = new(StringComparer.Ordinal);

    public bool TryOpen(string userId)
    {
        lock (_open)
        {
            var open = _open.GetValueOrDefault(userId);
            if (open >= maxPerUser) return false;
            _open[userId] = open + 1;
            return true;
        }
    }

    public void Close(string userId)
    {
        lock (_open)
        {
            if (!_open.TryGetValue(userId, out var open)) return;
            if (open <= 1) _open.Remove(userId);
            else _open[userId] = open - 1;
        }
    }
}
