using StackExchange.Redis;

namespace Im.Actors.Storage;

/// <summary>
/// Every key and channel the store uses, under one prefix (<c>Redis__KeyPrefix</c>) so several
/// deployments can share a Redis. The layout fits a Redis Cluster: every key one script touches
/// carries the same hash tag, so it is in one slot: a group's keys (its hash, members, timeline,
/// messages, AI records, drafts, client_msg_ids and events channel) are tagged <c>{group id}</c>,
/// a user's <c>{user id}</c>. What is looked up by a message's or record's id alone (which group
/// holds it) is a small index in that id's own slot. Ids inside keys are escaped (<c>%</c>,
/// <c>:</c>, <c>{</c>, <c>}</c>), so no id, however odd, can name another kind's key or move
/// another id's slot: <c>group:{g}:messages</c> is always group g's timeline. Generated ids
/// contain none of these characters.
/// </summary>
/// <param name="sharded">The store is a Redis Cluster: channels are shard channels (SPUBLISH), kept on their slot's shard.</param>
public sealed class StoreKeys(string prefix, bool sharded = false)
{
    public string Prefix { get; } = prefix.Contains('{') || prefix.Contains('}')
        ? throw new ArgumentException("a key prefix must not hold '{' or '}': they would move every key's hash slot", nameof(prefix))
        : prefix;

    /// <summary>
    /// The keys for the store <paramref name="redis"/> is connected to: a Redis Cluster gets shard
    /// channels. A store not reachable yet counts as one server: classic channels work on a cluster
    /// too (each message then reaches every shard), so nothing breaks, it only costs more.
    /// </summary>
    public static StoreKeys For(IConnectionMultiplexer redis, string prefix) =>
        new(prefix, sharded: redis.GetServers().Any(server => server.IsConnected && server.ServerType == ServerType.Cluster));

    /// <summary>Whether channels are shard channels (a Redis Cluster) rather than classic ones (one Redis, Garnet).</summary>
    public bool Sharded { get; } = sharded;

    /// <summary>Counters the spec's integer ids come from. Each is touched once per block of ids, not once per id (see <see cref="IdBlock"/>).</summary>
    public RedisKey UserCounter => Prefix + "counter:user";
    public RedisKey GroupCounter => Prefix + "counter:group";
    public RedisKey MessageCounter => Prefix + "counter:msg";
    public RedisKey RecordCounter => Prefix + "counter:record";

    public RedisKey User(string userId) => Prefix + "user:" + Tag(userId);
    public RedisKey UserGroups(string userId) => Prefix + "user:" + Tag(userId) + ":groups";
    public RedisKey Group(string groupId) => Prefix + "group:" + Tag(groupId);
    public RedisKey GroupMembers(string groupId) => Prefix + "group:" + Tag(groupId) + ":members";
    public RedisKey GroupMessages(string groupId) => Prefix + "group:" + Tag(groupId) + ":messages";
    public RedisKey GroupRecords(string groupId) => Prefix + "group:" + Tag(groupId) + ":records";

    /// <summary>The group's AI records at status 0, which its writer takes over when it starts.</summary>
    public RedisKey GroupOpenRecords(string groupId) => Prefix + "group:" + Tag(groupId) + ":records:open";
    /// <summary>Review mode: the group's records whose draft waits for a doctor, by record number.</summary>
    public RedisKey GroupDrafts(string groupId) => Prefix + "group:" + Tag(groupId) + ":records:drafts";
    public RedisKey Message(string groupId, string messageId) => Prefix + "group:" + Tag(groupId) + ":msg:" + Segment(messageId);
    public RedisKey Record(string groupId, string recordId) => Prefix + "group:" + Tag(groupId) + ":record:" + Segment(recordId);

    /// <summary>The group a message is in (its id alone names no slot of the group's).</summary>
    public RedisKey MessageGroup(string messageId) => Prefix + "msg:" + Tag(messageId);
    /// <summary>The group a record is in: routes a stop or a retry by record id to the group's writer.</summary>
    public RedisKey RecordGroup(string recordId) => Prefix + "record:" + Tag(recordId);

    public RedisKey Media(string mediaId) => Prefix + "media:" + Tag(mediaId);
    public RedisKey MediaBytes(string mediaId) => Prefix + "media:" + Tag(mediaId) + ":bytes";

    /// <summary>The first message a sender stored in a group under a <c>client_msg_id</c>; expires after the idempotency window.</summary>
    public RedisKey SentOnce(string groupId, string senderId, string clientMsgId) =>
        Prefix + "group:" + Tag(groupId) + ":sent:" + Segment(senderId) + ":" + Segment(clientMsgId);

    /// <summary>
    /// A group's events (<see cref="Im.Actors.Events.GroupEvent"/>), published by the step that stores
    /// them, so in <c>seq</c> order; read by the nodes that hold a socket of one of its members.
    /// </summary>
    public RedisChannel GroupEvents(string groupId) => Channel(Prefix + "group:" + Tag(groupId) + ":events");

    /// <summary>A user's events (<see cref="Im.Actors.Events.UserEvent"/>: joined or left a group), read by the nodes that hold a socket of the user.</summary>
    public RedisChannel UserEvents(string userId) => Channel(Prefix + "user:" + Tag(userId) + ":events");

    /// <summary>A channel by the name <see cref="GroupEvents"/> or <see cref="UserEvents"/> gave it.</summary>
    public RedisChannel Channel(string name) => Sharded ? RedisChannel.Sharded(name) : RedisChannel.Literal(name);

    /// <summary>Who is connected where: the user's open sockets per node (node id → count).</summary>
    public RedisKey UserConnections(string userId) => Prefix + "user:" + Tag(userId) + ":connections";

    /// <summary>The node's open sockets per user (user id → count), so that the survivors can clear its entries when it is gone.</summary>
    public RedisKey NodeConnections(string node) => Prefix + "node:" + Tag(node) + ":connections";

    /// <summary>The AI records a node runs the call of (record id → group id), so that when it is gone the survivors find them.</summary>
    public RedisKey NodeRecords(string node) => Prefix + "node:" + Tag(node) + ":records";

    /// <summary>Every node that has run an AI call whose record may still be open (see <see cref="NodeRecords"/>).</summary>
    public RedisKey RecordNodes => Prefix + "records:nodes";

    /// <summary>Every node that holds sockets, scored by its last heartbeat (Unix milliseconds).</summary>
    public RedisKey Nodes => Prefix + "nodes";

    private static string Tag(string id) => "{" + Segment(id) + "}";

    private static string Segment(string id) =>
        id.Replace("%", "%25", StringComparison.Ordinal).Replace(":", "%3A", StringComparison.Ordinal)
            .Replace("{", "%7B", StringComparison.Ordinal).Replace("}", "%7D", StringComparison.Ordinal);
}
