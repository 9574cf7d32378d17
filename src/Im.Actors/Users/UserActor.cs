using Akka.Actor;
using Akka.Cluster.Sharding;
using Im.Actors.Storage;
using Im.Contracts;
using static Im.Actors.Users.UserCommands;

namespace Im.Actors.Users;

/// <summary>The single writer of one user: creation and role changes, one at a time.</summary>
public sealed class UserActor : SingleWriterActor
{
    private readonly ImStore _store;

    public UserActor(ImStore store, TimeSpan passivateAfter)
    {
        _store = store;
        Context.SetReceiveTimeout(passivateAfter);
        Receive<CreateUser>(command =>
        {
            if (RefusedToManage(command, command.Caller)) return;
            RunWrite(command, async () =>
            {
                var user = await _store.CreateUser(command.UserId, command.Username, command.UserRole);
                return new WriteResult(user is null
                    ? Outcome<UserResponse>.Fail(ErrorCodes.InternalError, "user id already taken")
                    : Outcome<UserResponse>.Ok(user));
            });
        });
        Receive<UpdateUserRole>(command =>
        {
            if (RefusedToManage(command, command.Caller)) return;
            RunWrite(command, async () =>
            {
                var user = await _store.UpdateUserRole(command.UserId, command.UserRole);
                // An unknown user leaves no entity behind.
                return user is null
                    ? new WriteResult(Outcome<UserResponse>.Fail(Errors.UserNotFound), Passivate)
                    : new WriteResult(Outcome<UserResponse>.Ok(user));
            });
        });
        Receive<ReceiveTimeout>(_ => Passivate());
        Receive<StopEntity>(_ => Context.Stop(Self));
    }

    public static Props Props(ImStore store, TimeSpan passivateAfter) =>
        Akka.Actor.Props.Create(() => new UserActor(store, passivateAfter));

    // 403 comes before 2001, so a caller who may not manage users learns nothing about which users exist.
    private bool RefusedToManage(IRefusable command, Caller caller)
    {
        if (caller.MayManageUsers()) return false;
        Sender.Tell(command.Refuse(Errors.Forbidden));
        Passivate();
        return true;
    }
}

public sealed class UserMessageExtractor(int maxShards = 100) : HashCodeMessageExtractor(maxShards)
{
    public override string? EntityId(object message) => message is IWithUserId command ? command.UserId : null;
}
