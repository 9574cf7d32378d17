using StackExchange.Redis;

namespace Im.Actors.Storage;

/// <summary>
/// Every key and channel the store uses, under one prefix (<c>Redis__KeyPrefix</c>) so several
/// deployments can share a Redis. Ids inside keys are escaped (<c>%</c> and <c>:</c>), so no id,
/// however odd, can name another kind's key: <c>group:g:messages</c> is always group g's timeline,
/// never a group whose id is <c>g:messages</c>. Generated ids contain neither character, so their
/// keys read as plainly as before.
/// </summary>
public sealed class StoreKeys(string prefix)
{
    public string Prefix { get; } = prefix;

    public RedisKey UserCounter => Prefix + "counter:user";
    public RedisKey GroupCounter => Prefix + "counter:group";
    public RedisKey MessageCounter => Prefix + "counter:msg";
    public RedisKey RecordCounter => Prefix + "counter:record";
    public RedisKey PendingRecords => Prefix + "records:pending";

    /// <summary>Set once every group's members are in the users' group indexes (see <c>ImStore.IndexUserGroups</c>).</summary>
    public RedisKey UserGroupsIndexed => Prefix + "index:user-groups";

    public RedisKey User(string userId) => Prefix + "user:" + Segment(userId);
    public RedisKey UserGroups(string userId) => Prefix + "user:" + Segment(userId) + ":groups";
    public RedisKey Group(string groupId) => Prefix + "group:" + Segment(groupId);
    public RedisKey GroupMembers(string groupId) => Prefix + "group:" + Segment(groupId) + ":members";
    public RedisKey GroupMessages(string groupId) => Prefix + "group:" + Segment(groupId) + ":messages";
    public RedisKey GroupRecords(string groupId) => Prefix + "group:" + Segment(groupId) + ":records";

    /// <summary>The group's AI records at status 0, which its writer takes over when it starts.</summary>
    public RedisKey GroupOpenRecords(string groupId) => Prefix + "group:" + Segment(groupId) + ":records:open";
    /// <summary>Review mode: the group's records whose draft waits for a doctor, by record number.</summary>
    public RedisKey GroupDrafts(string groupId) => Prefix + "group:" + Segment(groupId) + ":records:drafts";
    public RedisKey Message(string messageId) => Prefix + "msg:" + Segment(messageId);
    public RedisKey Record(string recordId) => Prefix + "record:" + Segment(recordId);
    public RedisKey Media(string mediaId) => Prefix + "media:" + Segment(mediaId);
    public RedisKey MediaBytes(string mediaId) => Prefix + "media:" + Segment(mediaId) + ":bytes";

    /// <summary>The first message a sender stored in a group under a <c>client_msg_id</c>; expires after the idempotency window.</summary>
    public RedisKey SentOnce(string groupId, string senderId, string clientMsgId) =>
        Prefix + "sent:" + Segment(groupId) + ":" + Segment(senderId) + ":" + Segment(clientMsgId);

    /// <summary>SCAN pattern of every group's members hash.</summary>
    public string AllGroupMembersPattern => Glob(Prefix) + "group:*:members";

    /// <summary>The group id inside a key matched by <see cref="AllGroupMembersPattern"/>.</summary>
    public string GroupIdOfMembersKey(string key) =>
        Unsegment(key[(Prefix.Length + "group:".Length)..^":members".Length]);

    /// <summary>
    /// A group's events (<see cref="Im.Actors.Events.GroupEvent"/>), published by the step that stores
    /// them, so in <c>seq</c> order; read by the nodes that hold a socket of one of its members.
    /// </summary>
    public RedisChannel GroupEvents(string groupId) => RedisChannel.Literal(Prefix + "group:" + Segment(groupId) + ":events");

    /// <summary>A user's events (<see cref="Im.Actors.Events.UserEvent"/>: joined or left a group), read by the nodes that hold a socket of the user.</summary>
    public RedisChannel UserEvents(string userId) => RedisChannel.Literal(Prefix + "user:" + Segment(userId) + ":events");

    /// <summary>Who is connected where: the user's open sockets per node (node id → count).</summary>
    public RedisKey UserConnections(string userId) => Prefix + "user:" + Segment(userId) + ":connections";

    /// <summary>The node's open sockets per user (user id → count), so that the survivors can clear its entries when it is gone.</summary>
    public RedisKey NodeConnections(string node) => Prefix + "node:" + Segment(node) + ":connections";

    /// <summary>Every node that holds sockets, scored by its last heartbeat (Unix milliseconds).</summary>
    public RedisKey Nodes => Prefix + "nodes";

    private static string Segment(string id) => id.Replace("%", "%25", StringComparison.Ordinal).Replace(":", "%3A", StringComparison.Ordinal);

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
}
