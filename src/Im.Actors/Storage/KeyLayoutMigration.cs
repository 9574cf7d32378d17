using System.Globalization;
using StackExchange.Redis;

namespace Im.Actors.Storage;

/// <summary>
/// Moves a store written by ImAkka before the cluster key layout (keys without hash tags:
/// <c>user:u</c>, <c>group:g:messages</c>, <c>msg:m</c>, <c>records:pending</c>, …) to the layout of
/// <see cref="StoreKeys"/>, once, at start, before the node takes traffic. Each key is renamed
/// (contents and time-to-live kept); the lookups by id and the nodes' record lists are built from
/// what the messages and records hold; what only described live sockets is dropped (the nodes write
/// it again). Idempotent: a key already in the new layout is left alone, a run cut short is
/// finished by the next, and <c>layout</c> records that it is done. A store of the old layout was
/// always one server (it could not run on a cluster), where a rename may change slots; on a
/// Redis Cluster nothing is looked for.
/// </summary>
public sealed class KeyLayoutMigration(IConnectionMultiplexer redis, StoreKeys keys)
{
    public const string CurrentLayout = "2";

    private IDatabase Db => redis.GetDatabase();

    private RedisKey LayoutKey => keys.Prefix + "layout";

    /// <summary>How many old keys each kind had (empty when there was nothing to move).</summary>
    public async Task<IReadOnlyDictionary<string, int>> Run()
    {
        var moved = new SortedDictionary<string, int>(StringComparer.Ordinal);
        if (keys.Sharded || await Db.StringGetAsync(LayoutKey) == CurrentLayout) return moved;
        var server = redis.GetServers().First(s => s.IsConnected && !s.IsReplica);
        var old = new List<string>();
        await foreach (var key in server.KeysAsync(Db.Database, Glob(keys.Prefix) + "*", pageSize: 1000))
            if (IsOldLayout(key.ToString()[keys.Prefix.Length..])) old.Add(key.ToString());
        // Messages and records name their group; the group's keys are moved after them.
        foreach (var key in old.OrderBy(k => Rank(k[keys.Prefix.Length..])))
        {
            var kind = await Move(key, key[keys.Prefix.Length..]);
            moved[kind] = moved.GetValueOrDefault(kind) + 1;
        }
        await Db.StringSetAsync(LayoutKey, CurrentLayout);
        return moved;
    }

    private static int Rank(string name) => name.StartsWith("msg:", StringComparison.Ordinal) || name.StartsWith("record:", StringComparison.Ordinal) ? 0 : 1;

    // The new layout's keys all have '{' right after their kind; the old one's never (ids had no braces then).
    private static bool IsOldLayout(string name)
    {
        if (name is "records:pending" or "index:user-groups" or "nodes") return true;
        if (name.StartsWith("counter:", StringComparison.Ordinal) || name == "layout") return false;
        var colon = name.IndexOf(':');
        return colon > 0 && colon + 1 < name.Length && name[colon + 1] != '{'
               && name[..colon] is "user" or "group" or "msg" or "record" or "media" or "sent" or "node";
    }

    private async Task<string> Move(string key, string name)
    {
        var parts = name.Split(':');
        var id = parts.Length > 1 ? Unsegment(parts[1]) : "";
        switch (parts[0])
        {
            case "records" or "index" or "nodes":
            case "node":
            case "user" when parts is [_, _, "connections"]:
                // Written again by the live nodes: the sockets and calls they hold now.
                await Db.KeyDeleteAsync(key);
                return "dropped (live state the nodes write again)";
            case "user":
                await Rename(key, parts.Length == 2 ? keys.User(id) : keys.UserGroups(id));
                return "users";
            case "group":
                await Rename(key, string.Join(':', parts[2..]) switch
                {
                    "" => keys.Group(id),
                    "members" => keys.GroupMembers(id),
                    "messages" => keys.GroupMessages(id),
                    "records" => keys.GroupRecords(id),
                    "records:open" => keys.GroupOpenRecords(id),
                    "records:drafts" => keys.GroupDrafts(id),
                    var other => throw new InvalidOperationException($"an old group key of an unknown kind: group:…:{other}"),
                });
                return "groups";
            case "msg":
                var messageGroup = (string?)await Db.HashGetAsync(key, "group_id");
                if (messageGroup is null) return "skipped (no group)";
                await Db.StringSetAsync(keys.MessageGroup(id), messageGroup);
                await Rename(key, keys.Message(messageGroup, id));
                return "messages";
            case "record":
                var fields = await Db.HashGetAsync(key, ["group_id", "status", "node", "review_state"]);
                if (fields[0].IsNull) return "skipped (no group)";
                var recordGroup = (string)fields[0]!;
                await Db.StringSetAsync(keys.RecordGroup(id), recordGroup);
                // An open record whose call ran on a node: the janitor finds it when that node is gone.
                if (fields[1] == "0" && fields[3].IsNull && (string?)fields[2] is { } node)
                {
                    await Db.SetAddAsync(keys.RecordNodes, node);
                    await Db.HashSetAsync(keys.NodeRecords(node), id, recordGroup);
                }
                await Rename(key, keys.Record(recordGroup, id));
                return "AI records";
            case "media":
                await Rename(key, parts.Length == 2 ? keys.Media(id) : keys.MediaBytes(id));
                return "media";
            case "sent":
                await Rename(key, keys.SentOnce(id, Unsegment(parts[2]), Unsegment(parts[3])));
                return "idempotency keys";
            default:
                throw new InvalidOperationException($"an old key of an unknown kind: {parts[0]}");
        }
    }

    private async Task Rename(string from, RedisKey to)
    {
        // Gone already: a run cut short moved it.
        if (!await Db.KeyRenameAsync(from, to, When.NotExists) && await Db.KeyExistsAsync(from))
            throw new InvalidOperationException($"both {from} and {to} exist; the store holds both layouts");
    }

    private static string Unsegment(string segment) =>
        segment.Replace("%3A", ":", StringComparison.Ordinal).Replace("%25", "%", StringComparison.Ordinal);

    private static string Glob(string literal)
    {
        var escaped = new System.Text.StringBuilder();
        foreach (var c in literal)
        {
            if (c is '*' or '?' or '[' or ']' or '\\') escaped.Append('\\');
            escaped.Append(c);
        }
        return escaped.ToString();
    }

    public static string Describe(IReadOnlyDictionary<string, int> moved) =>
        string.Join(", ", moved.Select(m => string.Create(CultureInfo.InvariantCulture, $"{m.Value} {m.Key}")));
}
