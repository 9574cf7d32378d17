using Im.Contracts;

namespace Im.Actors.Groups;

/// <summary>Messages for a group's entity carry its id: the shard key.</summary>
public interface IWithGroupId
{
    string GroupId { get; }
}

/// <summary>What a GroupActor is asked to do. Each reply is an <see cref="Outcome{T}"/>.</summary>
public static class GroupCommands
{
    /// <summary>Replied with <c>Outcome&lt;GroupResponse&gt;</c>. The creator joins as DOCTOR (spec 2.2.1).</summary>
    public sealed record CreateGroup(string GroupId, string GroupName, string? Description, string CreatedBy) : IWithGroupId
    {
        public static CreateGroup New(CreateGroupRequest request, string createdBy) =>
            new(Storage.Ids.NewGroupId(DateTimeOffset.UtcNow), request.GroupName, request.Description, createdBy);
    }

    /// <summary>Replied with <c>Outcome&lt;AddMemberResponse&gt;</c>.</summary>
    public sealed record AddMember(string GroupId, string UserId, string UserRole) : IWithGroupId;

    /// <summary>Replied with <c>Outcome&lt;MessageResponse&gt;</c> once the message is in the store.</summary>
    public sealed record SendMessage(string GroupId, string SenderId, string Content, string? ClientMsgId) : IWithGroupId;

    /// <summary>From an AI caller: store the AI's reply and close its record. Replied with <c>Outcome&lt;MessageResponse&gt;</c>.</summary>
    public sealed record StoreAiReply(string GroupId, string RecordId, string UserMessageId, string Content, long DurationMs) : IWithGroupId;
}
