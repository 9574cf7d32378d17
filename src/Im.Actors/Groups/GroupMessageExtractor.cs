using Akka.Cluster.Sharding;

namespace Im.Actors.Groups;

/// <summary>Routes <see cref="IWithGroupId"/> messages to their group's entity; anything else is not the region's.</summary>
public sealed class GroupMessageExtractor(int maxShards = 100) : HashCodeMessageExtractor(maxShards)
{
    public override string? EntityId(object message) => message is IWithGroupId command ? command.GroupId : null;
}
