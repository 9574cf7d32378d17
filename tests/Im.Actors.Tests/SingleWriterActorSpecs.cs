using System.Collections.Concurrent;
using Akka.Actor;
using Im.Actors.Tests.Support;
using Im.Contracts;
using Xunit.Abstractions;

namespace Im.Actors.Tests;

/// <summary>
/// The single writer's own rules, on a writer whose writes the spec finishes by hand: pipelined
/// writes run side by side; an exclusive one starts only once they are done, and whatever came
/// after it waits for it; a full pipeline holds the next command; a failed write is refused to its
/// sender alone.
/// </summary>
public sealed class SingleWriterActorSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(ActorSpecs.SerializingConfig, output: output)
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(200);

    /// <summary>The writes the writer has started, by number, for the spec to finish.</summary>
    private readonly ConcurrentDictionary<int, TaskCompletionSource<bool>> _writes = new();

    private IActorRef Writer() => Sys.ActorOf(Props.Create(() => new Ledger(TestActor, _writes)));

    /// <summary>Ends write <paramref name="n"/>: stored, or failed as a store that went away.</summary>
    private void Finish(int n, bool stored = true)
    {
        if (stored) _writes[n].SetResult(true);
        else _writes[n].SetException(new TimeoutException("the store went away"));
    }

    [Fact]
    public void Should_run_pipelined_writes_side_by_side_and_answer_each_when_it_is_done()
    {
        var writer = Writer();
        writer.Tell(new Pipelined(1), TestActor);
        writer.Tell(new Pipelined(2), TestActor);
        ExpectMsg(new Started(1));
        ExpectMsg(new Started(2));

        Finish(2);
        ExpectMsg(new Done(2));
        Finish(1);
        ExpectMsg(new Done(1));
    }

    [Fact]
    public void Should_start_an_exclusive_write_only_once_the_pipelined_are_done_and_hold_what_came_after_it()
    {
        var writer = Writer();
        writer.Tell(new Pipelined(1), TestActor);
        writer.Tell(new Pipelined(2), TestActor);
        writer.Tell(new Exclusive(3), TestActor);
        writer.Tell(new Pipelined(4), TestActor);
        ExpectMsg(new Started(1));
        ExpectMsg(new Started(2));
        ExpectNoMsg(Quiet);

        Finish(1);
        ExpectMsg(new Done(1));
        ExpectNoMsg(Quiet);
        Finish(2);
        ExpectMsg(new Done(2));
        ExpectMsg(new Started(3));
        ExpectNoMsg(Quiet);

        Finish(3);
        ExpectMsg(new Done(3));
        ExpectMsg(new Started(4));
        Finish(4);
        ExpectMsg(new Done(4));
    }

    [Fact]
    public void Should_hold_the_next_write_while_the_pipeline_is_full_and_start_it_when_one_is_done()
    {
        var writer = Writer();
        for (var n = 1; n <= SingleWriterActor.MaxPipelined + 1; n++) writer.Tell(new Pipelined(n), TestActor);
        for (var n = 1; n <= SingleWriterActor.MaxPipelined; n++) ExpectMsg(new Started(n));
        ExpectNoMsg(Quiet);

        Finish(7);
        ExpectMsg(new Done(7));
        ExpectMsg(new Started(SingleWriterActor.MaxPipelined + 1));
    }

    [Fact]
    public void Should_refuse_a_failed_pipelined_write_to_its_sender_and_go_on_with_the_others()
    {
        var writer = Writer();
        writer.Tell(new Pipelined(1), TestActor);
        writer.Tell(new Pipelined(2), TestActor);
        writer.Tell(new Pipelined(3), TestActor);
        ExpectMsg(new Started(1));
        ExpectMsg(new Started(2));
        ExpectMsg(new Started(3));

        Finish(2, stored: false);
        Assert.Equal(ErrorCodes.ServiceUnavailable, ExpectMsg<Refused>().Error.Code);
        Finish(1);
        ExpectMsg(new Done(1));
        Finish(3);
        ExpectMsg(new Done(3));
        writer.Tell(new Exclusive(4), TestActor);
        ExpectMsg(new Started(4));
    }

    private sealed record Pipelined(int N) : IRefusable, INoSerializationVerificationNeeded
    {
        public object Refuse(ApiError error) => new Refused(N, error);
    }

    private sealed record Exclusive(int N) : IRefusable, INoSerializationVerificationNeeded
    {
        public object Refuse(ApiError error) => new Refused(N, error);
    }

    private sealed record Started(int N) : INoSerializationVerificationNeeded;

    private sealed record Done(int N) : INoSerializationVerificationNeeded;

    private sealed record Refused(int N, ApiError Error) : INoSerializationVerificationNeeded;

    /// <summary>A writer whose every write is a task the spec finishes; it says when each starts.</summary>
    private sealed class Ledger : SingleWriterActor
    {
        public Ledger(IActorRef spec, ConcurrentDictionary<int, TaskCompletionSource<bool>> writes)
        {
            ReceivePipelinedWrites(mayRunBeside: message => message is Pipelined);
            Receive<Pipelined>(p => RunPipelined(p, () => Write(p.N)));
            Receive<Exclusive>(x => RunWrite(x, () => Write(x.N)));

            async Task<WriteResult> Write(int n)
            {
                var write = writes.GetOrAdd(n, _ => new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
                spec.Tell(new Started(n));
                await write.Task;
                return new WriteResult(new Done(n));
            }
        }
    }
}
