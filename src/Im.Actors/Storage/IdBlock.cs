namespace Im.Actors.Storage;

/// <summary>
/// The spec's integer ids of one kind, taken from the store's counter a block at a time: a writer
/// touches the cluster-wide counter once per block, not once per id, so appends in different groups
/// never meet on one key. A block is reserved by one <c>INCRBY</c> (so a later block is always
/// above an earlier one, whichever node took it), and the next is reserved while the current one
/// runs low. Blocks start small, so a quiet group that passivates leaves short gaps, and double up
/// to <see cref="LargestBlock"/> while they are used. Ids increase in the order they are taken;
/// what a holder does not use (it stopped, a send was a repeat) is a gap, which the spec allows.
/// Safe to use from several threads.
/// </summary>
/// <param name="reserve">Adds the count to the counter and answers the counter's new value (the block's last id).</param>
public sealed class IdBlock(Func<long, Task<long>> reserve)
{
    public const long FirstBlock = 16;
    public const long LargestBlock = 1024;

    private readonly Lock _gate = new();
    private long _next = 1;
    private long _last;
    private long _size = FirstBlock;
    private Task<long>? _refill;
    private long _refillSize;

    /// <summary>Whether <see cref="TryTake"/> would give an id now.</summary>
    public bool HasIds
    {
        get
        {
            lock (_gate)
            {
                InstallRefillIfDone();
                return _next <= _last;
            }
        }
    }

    /// <summary>Starts reserving a block if none is held, so that the first id does not wait for it.</summary>
    public void Warm()
    {
        lock (_gate)
        {
            InstallRefillIfDone();
            if (_next > _last) StartRefill();
        }
    }

    /// <summary>The next id, when the current block (or a next one already reserved) has one; otherwise starts reserving one.</summary>
    public bool TryTake(out long id)
    {
        lock (_gate)
        {
            InstallRefillIfDone();
            if (_next > _last)
            {
                StartRefill();
                id = 0;
                return false;
            }
            id = _next++;
            if (_last - _next < _size / 4) StartRefill();
            return true;
        }
    }

    /// <summary>The next id, waiting for a block to be reserved when none is left.</summary>
    public async Task<long> Take()
    {
        while (true)
        {
            if (TryTake(out var id)) return id;
            Task<long>? refill;
            lock (_gate) refill = _refill;
            if (refill is not null) await refill.ConfigureAwait(false);
        }
    }

    private void StartRefill()
    {
        if (_refill is { IsFaulted: false, IsCanceled: false }) return;
        _refillSize = _size;
        _refill = reserve(_refillSize);
    }

    private void InstallRefillIfDone()
    {
        if (_next <= _last || _refill is not { IsCompletedSuccessfully: true } done) return;
        _last = done.Result;
        _next = _last - _refillSize + 1;
        _refill = null;
        _size = Math.Min(_size * 2, LargestBlock);
    }
}
