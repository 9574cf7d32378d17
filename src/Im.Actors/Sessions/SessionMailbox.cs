using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;
using Akka.Dispatch.MessageQueues;

namespace Im.Actors.Sessions;

/// <summary>
/// The mailbox of a <see cref="SessionActor"/>: a node holds one per socket, nearly all of them empty,
/// so it takes no room until a message comes and gives back what a burst grew it to once it is read.
/// Akka's own unbounded mailboxes start every actor with a 32-slot concurrent segment (about 1 KB),
/// a stash-capable one with a prepend stack on top. A session has few senders at a time (its parent,
/// its socket's reader, its pending asks), so a lock costs nothing that matters.
/// </summary>
public sealed class SessionMailbox(Settings settings, Config config)
    : MailboxType(settings, config), IProducesMessageQueue<SessionMessageQueue>
{
    /// <summary>The mailbox's id in the actor system's configuration, for <c>Props.WithMailbox</c>.</summary>
    public const string Id = "im.session-mailbox";

    /// <summary>What every actor system that starts sessions must have in its configuration.</summary>
    public static readonly string Hocon = $"{Id}.mailbox-type = \"{typeof(SessionMailbox).FullName}, {typeof(SessionMailbox).Assembly.GetName().Name}\"";

    public override IMessageQueue Create(IActorRef owner, ActorSystem system) => new SessionMessageQueue();
}

/// <summary>
/// An unbounded double-ended queue of envelopes in a ring that starts empty, grows by doubling, and
/// once a burst has been read shrinks back to <see cref="KeptSlots"/>. Double-ended because a stash
/// puts its messages back at the front.
/// </summary>
public sealed class SessionMessageQueue : IMessageQueue, IUnboundedDequeBasedMessageQueueSemantics
{
    /// <summary>The ring an emptied queue keeps: enough for a session's ordinary traffic without regrowing.</summary>
    public const int KeptSlots = 8;

    private readonly Lock _lock = new();
    private Envelope[] _ring = [];
    private int _head;
    private int _count;

    public bool HasMessages => Volatile.Read(ref _count) > 0;

    public int Count => Volatile.Read(ref _count);

    /// <summary>The slots the ring holds now, for its spec.</summary>
    public int Capacity
    {
        get
        {
            lock (_lock) return _ring.Length;
        }
    }

    public void Enqueue(IActorRef receiver, Envelope envelope)
    {
        lock (_lock)
        {
            GrowWhenFull();
            _ring[(_head + _count) % _ring.Length] = envelope;
            Volatile.Write(ref _count, _count + 1);
        }
    }

    public void EnqueueFirst(Envelope envelope)
    {
        lock (_lock)
        {
            GrowWhenFull();
            _head = (_head - 1 + _ring.Length) % _ring.Length;
            _ring[_head] = envelope;
            Volatile.Write(ref _count, _count + 1);
        }
    }

    public bool TryDequeue(out Envelope envelope)
    {
        lock (_lock)
        {
            if (_count == 0)
            {
                envelope = default;
                return false;
            }
            envelope = _ring[_head];
            _ring[_head] = default;
            _head = (_head + 1) % _ring.Length;
            Volatile.Write(ref _count, _count - 1);
            if (_count == 0)
            {
                _head = 0;
                if (_ring.Length > KeptSlots) _ring = new Envelope[KeptSlots];
            }
            return true;
        }
    }

    public void CleanUp(IActorRef owner, IMessageQueue deadletters)
    {
        while (TryDequeue(out var envelope)) deadletters.Enqueue(owner, envelope);
    }

    private void GrowWhenFull()
    {
        if (_count < _ring.Length) return;
        var grown = new Envelope[Math.Max(4, _ring.Length * 2)];
        for (var i = 0; i < _count; i++) grown[i] = _ring[(_head + i) % _ring.Length];
        _ring = grown;
        _head = 0;
    }
}
