using Im.Contracts;

namespace Im.Actors;

/// <summary>A command or query that can be refused without knowing its reply type.</summary>
public interface IRefusable
{
    /// <summary>The refusal, typed as the asker expects it.</summary>
    object Refuse(ApiError error);
}

/// <summary>
/// A command or query replied with <c>Outcome&lt;T&gt;</c>. The reply type is part of the message,
/// so an asker cannot expect another one and an actor can refuse any message generically.
/// </summary>
public interface IRepliedWith<T> : IRefusable where T : class
{
    object IRefusable.Refuse(ApiError error) => Outcome<T>.Fail(error);
}

/// <summary>Messages an actor sends only to itself; they never leave the process, so they skip serialization checks.</summary>
internal interface ILocalOnly : Akka.Actor.INoSerializationVerificationNeeded;
