using StackExchange.Redis;

namespace Im.Actors.Storage;

/// <summary>
/// The Lua scripts that make each write one atomic step, with named arguments (<c>@name</c>, bound
/// by StackExchange.Redis from the members of the object passed; a <see cref="RedisKey"/> member is a
/// key). Every key one script touches carries the same hash tag (see <see cref="StoreKeys"/>), so the
/// scripts run on a Redis Cluster too; there they publish on shard channels (<c>SPUBLISH</c>, which
/// Garnet and a lone Redis without cluster support do not take from a script), elsewhere on classic
/// ones. StackExchange.Redis caches them and sends EVALSHA after the first call. They use only
/// commands Garnet 2.2 runs inside EVAL.
/// </summary>
internal sealed class StoreScripts
{
    public static readonly StoreScripts Classic = new("PUBLISH");
    public static readonly StoreScripts Sharded = new("SPUBLISH");

    public static StoreScripts For(StoreKeys keys) => keys.Sharded ? Sharded : Classic;

    private StoreScripts(string publish)
    {
        // Returns 1, or 0 if the user exists.
        CreateUser = LuaScript.Prepare("""
            if redis.call('EXISTS', @user) == 1 then return 0 end
            redis.call('HSET', @user, 'id', @id, 'user_id', @user_id, 'username', @username, 'user_role', @role,
                'created_at', @now, 'updated_at', @now)
            return 1
            """);

        // Returns 1, or 0 if there is no such user.
        UpdateUserRole = LuaScript.Prepare("""
            if redis.call('EXISTS', @user) == 0 then return 0 end
            redis.call('HSET', @user, 'user_role', @role, 'updated_at', @now)
            return 1
            """);

        // The creator is the first member, a DOCTOR. Returns 1, or 0 if the group exists.
        CreateGroup = LuaScript.Prepare("""
            if redis.call('EXISTS', @group) == 1 then return 0 end
            redis.call('HSET', @group, 'id', @id, 'group_id', @group_id, 'group_name', @name, 'created_by', @created_by,
                'created_at', @now, 'updated_at', @now, 'last_seq', 0, 'member_seq', 1)
            if @has_description == '1' then redis.call('HSET', @group, 'description', @description) end
            redis.call('HSET', @members, @created_by, '1|' .. @creator_role .. '|' .. @now)
            return 1
            """);

        // Sets a group's AI mode and pause after a doctor's message, and says so to its members (the event is published behind
        // the group's last seq). Returns 1, or 0 if there is no group.
        SetGroupAi = LuaScript.Prepare($$"""
            if redis.call('EXISTS', @group) == 0 then return 0 end
            redis.call('HSET', @group, 'ai_mode', @ai_mode, 'pause_after_doctor_seconds', @pause_seconds, 'ai_updated_by', @updated_by,
                'ai_updated_at', @now, 'updated_at', @now)
            redis.call('{{publish}}', @channel, '0 ' .. (redis.call('HGET', @group, 'last_seq') or '0') .. ' ' .. @event)
            return 1
            """);

        // Returns {join order, the group's last seq} (what the user gets is what is stored after it), {0} if already a member,
        // {-1} if there is no group.
        AddMember = LuaScript.Prepare("""
            if redis.call('EXISTS', @group) == 0 then return {-1} end
            if redis.call('HEXISTS', @members, @user_id) == 1 then return {0} end
            local order = redis.call('HINCRBY', @group, 'member_seq', 1)
            redis.call('HSET', @members, @user_id, order .. '|' .. @role .. '|' .. @now)
            return {order, tonumber(redis.call('HGET', @group, 'last_seq') or '0')}
            """);

        // The append: seq taken, message stored and indexed, the AI record opened or completed, and the events published, all in
        // one step, so pub/sub order is seq order. The message's id (and an opened record's) come from the writer's id blocks.
        // With a client_msg_id, the same step first looks for the message that id already stored: a repeat of it is answered
        // with that message and changes nothing; the id with other content is a conflict. An AI reply is stored only while its
        // record is open on the same attempt: a stopped, interrupted or retried attempt's late answer changes nothing, so a
        // patient's message never gets two replies.
        //   @record_mode: 'none' | 'create' | 'complete'. @fingerprint: 64 hex digits of msg_type and content ('' without a
        //   client_msg_id). @media_*: an IMAGE's media ('' for other messages). @attempt: the attempt a reply answers.
        //   @event: the message's event (published behind the id and seq taken here). @after: an event published after it,
        //   behind its seq ('' for none: the record's thinking or done state). @paused_until: the end of the AI's pause this
        //   message starts, Unix ms ('' for none). @reviewed_by: who approved the draft this reply is ('' outside review).
        // Returns {id, seq, first seq of an opened record's context, the node that ran a completed record's call},
        // {-1, message_id} for a repeat, {-2} for a conflict, or {-3} for a reply to an attempt that is no longer open.
        AppendMessage = LuaScript.Prepare($$"""
            local ran_on = ''
            if @record_mode == 'complete' then
                if redis.call('HGET', @record, 'status') ~= '0' or (redis.call('HGET', @record, 'attempts') or '1') ~= @attempt then
                    return {-3}
                end
                -- A reply outside review needs a record without a draft; an approval, a draft still pending.
                local review = redis.call('HGET', @record, 'review_state') or ''
                if (@reviewed_by == '' and review ~= '') or (@reviewed_by ~= '' and review ~= 'pending') then return {-3} end
                ran_on = redis.call('HGET', @record, 'node') or ''
            end
            if @fingerprint ~= '' then
                local first = redis.call('GET', @sent_once)
                if first then
                    if string.sub(first, 1, 64) == @fingerprint then return {-1, string.sub(first, 66)} end
                    return {-2}
                end
                redis.call('SET', @sent_once, @fingerprint .. ' ' .. @message_id, 'EX', @window_seconds)
            end
            local seq = redis.call('HINCRBY', @group, 'last_seq', 1)
            redis.call('HSET', @message, 'id', @id, 'message_id', @message_id, 'group_id', @group_id, 'from_user_id', @from,
                'msg_type', @msg_type, 'msg_content', @content, 'seq', seq, 'created_at', @now, 'updated_at', @now)
            if @user_message_id ~= '' then redis.call('HSET', @message, 'user_message_id', @user_message_id) end
            if @media_type ~= '' then
                redis.call('HSET', @message, 'media_type', @media_type, 'media_size', @media_size, 'media_width', @media_width,
                    'media_height', @media_height)
            end
            redis.call('ZADD', @timeline, seq, @message_id)
            if @paused_until ~= '' then redis.call('HSET', @group, 'ai_paused_until', @paused_until) end
            local from = 0
            if @record_mode == 'create' then
                from = seq - tonumber(@context_size) + 1
                if from < 1 then from = 1 end
                redis.call('HSET', @record, 'id', @record_number, 'record_id', @record_id, 'group_id', @group_id,
                    'user_message_id', @message_id, 'asked_by', @from, 'ai_service_url', @ai_service_url, 'status', 0, 'node', @node,
                    'created_at', @now, 'updated_at', @now, 'model', @model, 'attempts', 1, 'ai_mode', @ai_mode,
                    'context_from_seq', from, 'context_to_seq', seq)
                redis.call('ZADD', @records, @record_number, @record_id)
                redis.call('SADD', @open_records, @record_id)
            elseif @record_mode == 'complete' then
                redis.call('HSET', @record, 'status', 1, 'ai_message_id', @message_id, 'duration_ms', @duration_ms, 'updated_at', @now)
                redis.call('HDEL', @record, 'error_message')
                redis.call('SREM', @open_records, @record_id)
                if @reviewed_by ~= '' then
                    redis.call('HSET', @record, 'review_state', 'approved', 'reviewed_by', @reviewed_by, 'edited', @edited)
                    redis.call('HDEL', @record, 'draft', 'draft_at')
                    redis.call('ZREM', @drafts, @record_id)
                end
            end
            redis.call('{{publish}}', @channel, @id .. ' ' .. seq .. ' ' .. @event)
            if @after ~= '' then redis.call('{{publish}}', @channel, '0 ' .. seq .. ' ' .. @after) end
            return {tonumber(@id), seq, from, ran_on}
            """);

        // Closes an open record without a reply (failed, stopped, interrupted), and says so to the group.
        //   @attempt: '' for whichever is open. @duration_ms: '' for none. @event: a whole envelope, '' for none.
        // Returns the node that ran its call, or 0 if the record was not open on that attempt.
        CloseRecord = LuaScript.Prepare($$"""
            if redis.call('HGET', @record, 'status') ~= '0' then return 0 end
            if @attempt ~= '' and (redis.call('HGET', @record, 'attempts') or '1') ~= @attempt then return 0 end
            redis.call('HSET', @record, 'status', 2, 'error_message', @error_message, 'updated_at', @now)
            if @duration_ms ~= '' then redis.call('HSET', @record, 'duration_ms', @duration_ms) else redis.call('HDEL', @record, 'duration_ms') end
            redis.call('SREM', @open_records, @record_id)
            if @event ~= '' then redis.call('{{publish}}', @channel, @event) end
            return redis.call('HGET', @record, 'node') or ''
            """);

        // Review mode: keeps an attempt's answer as the record's draft. The record stays at status 0 but leaves the group's open
        // set (and its node's records): no call runs for it any more, so neither the janitor nor a starting writer closes it;
        // the group's drafts index lists it. @for_doctors, @for_others: whole envelopes.
        // Returns the node that ran its call, or 0 if that attempt is not open (or already drafted).
        StoreDraft = LuaScript.Prepare($$"""
            if redis.call('HGET', @record, 'status') ~= '0' then return 0 end
            if (redis.call('HGET', @record, 'attempts') or '1') ~= @attempt then return 0 end
            if redis.call('HEXISTS', @record, 'review_state') == 1 then return 0 end
            redis.call('HSET', @record, 'review_state', 'pending', 'draft', @draft, 'draft_at', @now, 'duration_ms', @duration_ms,
                'updated_at', @now)
            redis.call('SREM', @open_records, @record_id)
            redis.call('ZADD', @drafts, redis.call('HGET', @record, 'id'), @record_id)
            redis.call('{{publish}}', @channel, @for_doctors)
            redis.call('{{publish}}', @channel, @for_others)
            return redis.call('HGET', @record, 'node') or ''
            """);

        // Review mode: a doctor rejects a pending draft; the record closes without a reply. @event: a whole envelope.
        // Returns 1, or 0 if no draft of the record is pending.
        RejectDraft = LuaScript.Prepare($$"""
            if redis.call('HGET', @record, 'status') ~= '0' or redis.call('HGET', @record, 'review_state') ~= 'pending' then return 0 end
            redis.call('HSET', @record, 'status', 2, 'error_message', '4005: rejected', 'review_state', 'rejected', 'reviewed_by',
                @reviewed_by, 'updated_at', @now)
            redis.call('HDEL', @record, 'draft', 'draft_at')
            redis.call('ZREM', @drafts, @record_id)
            redis.call('{{publish}}', @channel, @event)
            return 1
            """);

        // Opens a failed, stopped or rejected record again for one more attempt, on the same context, run by @node.
        // @event: a whole envelope. Returns the new attempt, or -1 if the record is not closed without a reply.
        ReopenRecord = LuaScript.Prepare($$"""
            if redis.call('HGET', @record, 'status') ~= '2' then return -1 end
            local attempt = tonumber(redis.call('HGET', @record, 'attempts') or '1') + 1
            redis.call('HSET', @record, 'status', 0, 'attempts', attempt, 'node', @node, 'ai_mode', @ai_mode, 'updated_at', @now)
            redis.call('HDEL', @record, 'error_message', 'duration_ms', 'review_state', 'reviewed_by', 'edited', 'draft', 'draft_at')
            redis.call('SADD', @open_records, @record_id)
            redis.call('{{publish}}', @channel, @event)
            return attempt
            """);

        StoreMedia = LuaScript.Prepare("""
            redis.call('HSET', @media, 'media_id', @media_id, 'group_id', @group_id, 'uploaded_by', @uploaded_by,
                'content_type', @content_type, 'size', @size, 'width', @width, 'height', @height, 'sha256', @sha256, 'created_at', @now)
            redis.call('SET', @bytes_key, @bytes)
            return 1
            """);
    }

    public LuaScript CreateUser { get; }
    public LuaScript UpdateUserRole { get; }
    public LuaScript CreateGroup { get; }
    public LuaScript SetGroupAi { get; }
    public LuaScript AddMember { get; }
    public LuaScript AppendMessage { get; }
    public LuaScript CloseRecord { get; }
    public LuaScript StoreDraft { get; }
    public LuaScript RejectDraft { get; }
    public LuaScript ReopenRecord { get; }
    public LuaScript StoreMedia { get; }
}
