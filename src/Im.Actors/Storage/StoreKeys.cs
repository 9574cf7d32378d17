using StackExchange.Redis;

namespace Im.Actors.Storage;

/// <summary>
/// Every key and channel the store uses, under one prefix (<c>Redis__KeyPrefix</c>) so several
/// deployments can share a Redis.
/// </summary>
public sealed class StoreKeys(string prefix)
{
    public string Prefix { get; } = prefix;

    public RedisKey UserCounter => Prefix + "counter:user";
    public RedisKey GroupCounter => Prefix + "counter:group";
    public RedisKey MessageCounter => Prefix + "counter:msg";
    public RedisKey RecordCounter => Prefix + "counter:record";
    public RedisKey PendingRecords => Prefix + "records:pending";

    public RedisKey User(string userId) => Prefix + "user:" + userId;
    public RedisKey Group(string groupId) => Prefix + "group:" + groupId;
    public RedisKey GroupMembers(string groupId) => Prefix + "group:" + groupId + ":members";
    public RedisKey GroupMessages(string groupId) => Prefix + "group:" + groupId + ":messages";
    public RedisKey GroupRecords(string groupId) => Prefix + "group:" + groupId + ":records";
    public RedisKey Message(string messageId) => Prefix + "msg:" + messageId;
    public RedisKey Record(string recordId) => Prefix + "record:" + recordId;

    /// <summary>The one fan-out channel: published from the append script, so in <c>seq</c> order.</summary>
    public RedisChannel Events => RedisChannel.Literal(Prefix + "events");
}
