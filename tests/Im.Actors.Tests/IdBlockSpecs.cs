using Im.Actors.Storage;

namespace Im.Actors.Tests;

/// <summary>The id block's own rules, over a counter in memory that the spec can hold and fail.</summary>
public sealed class IdBlockSpecs
{
    private long _counter;
    private readonly List<long> _reserved = [];
    private TaskCompletionSource? _hold;
    private bool _fail;

    private async Task<long> Reserve(long count)
    {
        if (_hold is { } hold) await hold.Task;
        if (_fail) throw new TimeoutException("the counter did not answer");
        _reserved.Add(count);
        return _counter += count;
    }

    [Fact]
    public async Task Should_give_increasing_ids_from_blocks_that_start_small_and_double()
    {
        var block = new IdBlock(Reserve);
        var ids = new List<long>();
        for (var i = 0; i < 100; i++) ids.Add(await block.Take());

        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), ids);
        Assert.Equal([16L, 32L, 64L, 128L], _reserved);
    }

    [Fact]
    public async Task Should_stay_above_every_id_another_holder_took_before()
    {
        var first = new IdBlock(Reserve);
        var taken = await first.Take();
        var second = new IdBlock(Reserve);

        Assert.True(await second.Take() > taken);
        Assert.True(await first.Take() < await second.Take());
    }

    [Fact]
    public async Task Should_reserve_the_next_block_while_the_current_one_runs_low()
    {
        var block = new IdBlock(Reserve);
        await block.Take();
        _hold = new TaskCompletionSource();
        var seen = new List<long>();
        while (block.TryTake(out var id)) seen.Add(id);

        // The first block's last ids came out while the next was asked for, not after.
        Assert.Equal(Enumerable.Range(2, 15).Select(i => (long)i), seen);
        Assert.False(block.HasIds);
        _hold.SetResult();
        Assert.Equal(17, await block.Take());
    }

    [Fact]
    public async Task Should_give_nothing_while_the_counter_fails_and_go_on_once_it_answers()
    {
        var block = new IdBlock(Reserve);
        _fail = true;

        await Assert.ThrowsAsync<TimeoutException>(block.Take);
        Assert.False(block.TryTake(out _));

        _fail = false;
        Assert.Equal(1, await block.Take());
    }
}
