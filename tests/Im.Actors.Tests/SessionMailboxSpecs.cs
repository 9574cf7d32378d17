using Akka.Actor;
using Im.Actors.Sessions;
using Im.Actors.Tests.Support;
using Xunit.Abstractions;

namespace Im.Actors.Tests;

/// <summary>
/// The sessions' mailbox: a queue in order, with the stash's put-back in front, that holds nothing
/// while empty and gives back what a burst grew it to; and an actor system that runs sessions on it.
/// </summary>
public sealed class SessionMailboxSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(ActorSpecs.SerializingConfig, output: output)
{
    private static Envelope Letter(int n) => new(n, ActorRefs.NoSender);

    private static List<object> Drain(SessionMessageQueue queue)
    {
        var read = new List<object>();
        while (queue.TryDequeue(out var envelope)) read.Add(envelope.Message);
        return read;
    }

    [Fact]
    public void Should_hand_out_messages_in_the_order_they_came_past_every_growth()
    {
        var queue = new SessionMessageQueue();
        for (var i = 0; i < 100; i++) queue.Enqueue(ActorRefs.Nobody, Letter(i));

        Assert.Equal(100, queue.Count);
        Assert.Equal(Enumerable.Range(0, 100).Cast<object>(), Drain(queue));
        Assert.False(queue.HasMessages);
    }

    [Fact]
    public void Should_keep_order_when_the_ring_wraps_around()
    {
        var queue = new SessionMessageQueue();
        var read = new List<object>();
        // Three in, two out, over and over: the head walks round the ring while it also grows.
        for (var i = 0; i < 60; i += 3)
        {
            for (var j = i; j < i + 3; j++) queue.Enqueue(ActorRefs.Nobody, Letter(j));
            for (var k = 0; k < 2 && queue.TryDequeue(out var envelope); k++) read.Add(envelope.Message);
        }
        read.AddRange(Drain(queue));

        Assert.Equal(Enumerable.Range(0, 60).Cast<object>(), read);
    }

    [Fact]
    public void Should_put_what_the_stash_gives_back_in_front_in_its_order()
    {
        var queue = new SessionMessageQueue();
        queue.Enqueue(ActorRefs.Nobody, Letter(3));
        queue.Enqueue(ActorRefs.Nobody, Letter(4));
        // A stash puts its messages back last first, so that they come out first first.
        queue.EnqueueFirst(Letter(2));
        queue.EnqueueFirst(Letter(1));

        Assert.Equal(new object[] { 1, 2, 3, 4 }, Drain(queue));
    }

    [Fact]
    public void Should_hold_no_slots_until_a_message_comes_and_give_back_a_burst_once_read()
    {
        var queue = new SessionMessageQueue();
        Assert.Equal(0, queue.Capacity);

        for (var i = 0; i < 1000; i++) queue.Enqueue(ActorRefs.Nobody, Letter(i));
        Assert.True(queue.Capacity >= 1000);
        Drain(queue);

        Assert.Equal(SessionMessageQueue.KeptSlots, queue.Capacity);
        queue.Enqueue(ActorRefs.Nobody, Letter(1));
        Assert.Equal(new object[] { 1 }, Drain(queue));
    }

    [Fact]
    public async Task Should_lose_and_double_nothing_when_many_senders_write_at_once()
    {
        var queue = new SessionMessageQueue();
        const int Senders = 4, Each = 5000;
        var read = new List<int>();
        var writers = Enumerable.Range(0, Senders).Select(s => Task.Run(() =>
        {
            for (var i = 0; i < Each; i++) queue.Enqueue(ActorRefs.Nobody, Letter(s * Each + i));
        })).ToArray();
        var reader = Task.Run(async () =>
        {
            while (read.Count < Senders * Each)
            {
                if (queue.TryDequeue(out var envelope)) read.Add((int)envelope.Message);
                else await Task.Yield();
            }
        });
        await Task.WhenAll(writers);
        await reader.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(Enumerable.Range(0, Senders * Each), read.Order());
        // Each sender's messages stay in its own order.
        for (var s = 0; s < Senders; s++)
        {
            var mine = read.Where(n => n / Each == s).ToList();
            Assert.Equal(mine.Order(), mine);
        }
    }

    [Fact]
    public void Should_be_the_mailbox_a_session_gets_and_carry_a_stash_through_it()
    {
        var actor = Sys.ActorOf(Props.Create(() => new StashUntilOpened(TestActor)).WithMailbox(SessionMailbox.Id));
        actor.Tell("a");
        actor.Tell("b");
        actor.Tell(StashUntilOpened.Open);
        actor.Tell("c");

        ExpectMsg(nameof(SessionMessageQueue));
        ExpectMsg("a");
        ExpectMsg("b");
        ExpectMsg("c");
    }

    private sealed class StashUntilOpened(IActorRef reportTo) : UntypedActor, IWithStash
    {
        public const string Open = "open";
        private bool _open;

        public IStash Stash { get; set; } = null!;

        protected override void OnReceive(object message)
        {
            if (message is Open)
            {
                _open = true;
                reportTo.Tell(((ActorCell)Context).Mailbox!.MessageQueue.GetType().Name);
                Stash.UnstashAll();
            }
            else if (_open) reportTo.Tell(message);
            else Stash.Stash();
        }
    }
}
