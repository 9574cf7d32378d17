namespace Im.Actors.Storage;

/// <summary>
/// The Lua scripts that make each write one atomic step. StackExchange.Redis caches them and
/// sends EVALSHA after the first call. They use only commands Garnet 2.2 runs inside EVAL.
/// </summary>
internal static class StoreScripts
{
    // KEYS: counter, user. ARGV: user_id, username, role, now. Returns the new id, or -1 if the user exists.
    public const string CreateUser = """
        if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
        local id = redis.call('INCR', KEYS[1])
        redis.call('HSET', KEYS[2], 'id', id, 'user_id', ARGV[1], 'username', ARGV[2], 'user_role', ARGV[3],
            'created_at', ARGV[4], 'updated_at', ARGV[4])
        return id
        """;

    // KEYS: user. ARGV: role, now. Returns 1, or 0 if there is no such user.
    public const string UpdateUserRole = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('HSET', KEYS[1], 'user_role', ARGV[1], 'updated_at', ARGV[2])
        return 1
        """;

    // KEYS: counter, group, members, creator's groups. ARGV: group_id, name, description, has_description, created_by, now, creator_role,
    // the creator's channel, its joined event. Returns the new id, or -1 if the group exists.
    public const string CreateGroup = """
        if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
        local id = redis.call('INCR', KEYS[1])
        redis.call('HSET', KEYS[2], 'id', id, 'group_id', ARGV[1], 'group_name', ARGV[2], 'created_by', ARGV[5],
            'created_at', ARGV[6], 'updated_at', ARGV[6], 'last_seq', 0, 'member_seq', 1)
        if ARGV[4] == '1' then redis.call('HSET', KEYS[2], 'description', ARGV[3]) end
        redis.call('HSET', KEYS[3], ARGV[5], '1|' .. ARGV[7] .. '|' .. ARGV[6])
        redis.call('SADD', KEYS[4], ARGV[1])
        redis.call('PUBLISH', ARGV[8], '0 0 ' .. ARGV[9])
        return id
        """;

    // Sets a group's AI mode and pause after a doctor's message, and says so to its members.
    // KEYS: group. ARGV: ai_mode, pause_after_doctor_seconds, updated_by, now, the group's channel, event (published behind
    // the group's last seq). Returns 1, or 0 if there is no group.
    public const string SetGroupAi = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('HSET', KEYS[1], 'ai_mode', ARGV[1], 'pause_after_doctor_seconds', ARGV[2], 'ai_updated_by', ARGV[3],
            'ai_updated_at', ARGV[4], 'updated_at', ARGV[4])
        redis.call('PUBLISH', ARGV[5], '0 ' .. (redis.call('HGET', KEYS[1], 'last_seq') or '0') .. ' ' .. ARGV[6])
        return 1
        """;

    // KEYS: group, members, user's groups. ARGV: user_id, role, now, group_id, the user's channel, its joined event (published
    // behind the group's last seq: what the user gets is what is stored after it). Returns the join order, 0 if already a member,
    // -1 if no group.
    public const string AddMember = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
        if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
        local order = redis.call('HINCRBY', KEYS[1], 'member_seq', 1)
        redis.call('HSET', KEYS[2], ARGV[1], order .. '|' .. ARGV[2] .. '|' .. ARGV[3])
        redis.call('SADD', KEYS[3], ARGV[4])
        redis.call('PUBLISH', ARGV[5], '0 ' .. (redis.call('HGET', KEYS[1], 'last_seq') or '0') .. ' ' .. ARGV[6])
        return order
        """;

    // KEYS: members, user's groups. ARGV: user_id, group_id, the user's channel, its left event.
    // Returns 1 if removed, 0 if not a member.
    public const string RemoveMember = """
        if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
        redis.call('SREM', KEYS[2], ARGV[2])
        redis.call('PUBLISH', ARGV[3], '0 0 ' .. ARGV[4])
        return 1
        """;

    // The append: id and seq taken, message stored and indexed, the AI record opened or completed,
    // and the events published, all in one step, so pub/sub order is seq order. With a client_msg_id,
    // the same step first looks for the message that id already stored: a repeat of it is answered
    // with that message and changes nothing; the id with other content is a conflict. An AI reply is
    // stored only while its record is open on the same attempt: a stopped, interrupted or retried
    // attempt's late answer changes nothing, so a patient's message never gets two replies.
    // KEYS: msg counter, group, group messages, message, record counter, record, group records, pending records,
    //       sent-once (the sender's client_msg_id in this group), the group's open records.
    // ARGV: 1 message_id, 2 group_id, 3 from, 4 msg_type, 5 content, 6 now, 7 user_message_id ('' for none),
    //       8 record mode ('none' | 'create' | 'complete'), 9 record_id, 10 ai_service_url, 11 duration_ms,
    //       12 the group's channel, 13 the message's event (published behind the id and seq taken here), 14 node (of an opened record),
    //       15 fingerprint of msg_type and content (64 hex digits; '' without client_msg_id), 16 window in seconds,
    //       17-20 an IMAGE's media content type, size, width and height ('' for other messages),
    //       21 the attempt a reply answers, 22 model, 23 context size, 24 ai_mode (of an opened record),
    //       25 an event published after the message's, behind its seq ('' for none: the record's thinking or done state),
    //       26 the end of the AI's pause this message starts, in Unix milliseconds ('' for none),
    //       27 who approved the draft this reply is ('' for a reply outside review), 28 '1' if the approved text was edited.
    // KEYS[11]: the group's pending drafts.
    // Returns {id, seq, record id (0 unless created), first seq of its context}, {-1, message_id} for a repeat, {-2} for a conflict,
    // or {-3} for a reply to an attempt that is no longer open.
    public const string AppendMessage = """
        if ARGV[8] == 'complete' then
            if redis.call('HGET', KEYS[6], 'status') ~= '0' or (redis.call('HGET', KEYS[6], 'attempts') or '1') ~= ARGV[21] then
                return {-3}
            end
            -- A reply outside review needs a record without a draft; an approval, a draft still pending.
            local review = redis.call('HGET', KEYS[6], 'review_state') or ''
            if (ARGV[27] == '' and review ~= '') or (ARGV[27] ~= '' and review ~= 'pending') then return {-3} end
        end
        if ARGV[15] ~= '' then
            local first = redis.call('GET', KEYS[9])
            if first then
                if string.sub(first, 1, 64) == ARGV[15] then return {-1, string.sub(first, 66)} end
                return {-2}
            end
            redis.call('SET', KEYS[9], ARGV[15] .. ' ' .. ARGV[1], 'EX', ARGV[16])
        end
        local id = redis.call('INCR', KEYS[1])
        local seq = redis.call('HINCRBY', KEYS[2], 'last_seq', 1)
        redis.call('HSET', KEYS[4], 'id', id, 'message_id', ARGV[1], 'group_id', ARGV[2], 'from_user_id', ARGV[3],
            'msg_type', ARGV[4], 'msg_content', ARGV[5], 'seq', seq, 'created_at', ARGV[6], 'updated_at', ARGV[6])
        if ARGV[7] ~= '' then redis.call('HSET', KEYS[4], 'user_message_id', ARGV[7]) end
        if ARGV[17] ~= '' then
            redis.call('HSET', KEYS[4], 'media_type', ARGV[17], 'media_size', ARGV[18], 'media_width', ARGV[19], 'media_height', ARGV[20])
        end
        redis.call('ZADD', KEYS[3], seq, ARGV[1])
        if ARGV[26] ~= '' then redis.call('HSET', KEYS[2], 'ai_paused_until', ARGV[26]) end
        local record = 0
        local from = 0
        if ARGV[8] == 'create' then
            record = redis.call('INCR', KEYS[5])
            from = seq - tonumber(ARGV[23]) + 1
            if from < 1 then from = 1 end
            redis.call('HSET', KEYS[6], 'id', record, 'record_id', ARGV[9], 'group_id', ARGV[2], 'user_message_id', ARGV[1],
                'asked_by', ARGV[3], 'ai_service_url', ARGV[10], 'status', 0, 'node', ARGV[14], 'created_at', ARGV[6],
                'updated_at', ARGV[6], 'model', ARGV[22], 'attempts', 1, 'ai_mode', ARGV[24],
                'context_from_seq', from, 'context_to_seq', seq)
            redis.call('ZADD', KEYS[7], record, ARGV[9])
            redis.call('SADD', KEYS[8], ARGV[9])
            redis.call('SADD', KEYS[10], ARGV[9])
        elseif ARGV[8] == 'complete' then
            redis.call('HSET', KEYS[6], 'status', 1, 'ai_message_id', ARGV[1], 'duration_ms', ARGV[11], 'updated_at', ARGV[6])
            redis.call('HDEL', KEYS[6], 'error_message')
            redis.call('SREM', KEYS[8], ARGV[9])
            redis.call('SREM', KEYS[10], ARGV[9])
            if ARGV[27] ~= '' then
                redis.call('HSET', KEYS[6], 'review_state', 'approved', 'reviewed_by', ARGV[27], 'edited', ARGV[28])
                redis.call('HDEL', KEYS[6], 'draft', 'draft_at')
                redis.call('ZREM', KEYS[11], ARGV[9])
            end
        end
        redis.call('PUBLISH', ARGV[12], id .. ' ' .. seq .. ' ' .. ARGV[13])
        if ARGV[25] ~= '' then redis.call('PUBLISH', ARGV[12], '0 ' .. seq .. ' ' .. ARGV[25]) end
        return {id, seq, record, from}
        """;

    // Closes an open record without a reply (failed, stopped, interrupted), and says so to the group.
    // KEYS: record, pending records, the group's open records.
    // ARGV: attempt ('' for whichever is open), error_message, duration_ms ('' for none), now, record_id, the group's channel,
    //       the event to publish (a whole envelope; '' for none).
    // Returns 1 if it closed the record, 0 if the record was not open on that attempt.
    public const string CloseRecord = """
        if redis.call('HGET', KEYS[1], 'status') ~= '0' then return 0 end
        if ARGV[1] ~= '' and (redis.call('HGET', KEYS[1], 'attempts') or '1') ~= ARGV[1] then return 0 end
        redis.call('HSET', KEYS[1], 'status', 2, 'error_message', ARGV[2], 'updated_at', ARGV[4])
        if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'duration_ms', ARGV[3]) else redis.call('HDEL', KEYS[1], 'duration_ms') end
        redis.call('SREM', KEYS[2], ARGV[5])
        redis.call('SREM', KEYS[3], ARGV[5])
        if ARGV[7] ~= '' then redis.call('PUBLISH', ARGV[6], ARGV[7]) end
        return 1
        """;

    // Review mode: keeps an attempt's answer as the record's draft. The record stays at status 0 but
    // leaves the pending set and the group's open set: no call runs for it any more, so neither the
    // janitor nor a starting writer closes it; the group's drafts index lists it.
    // KEYS: record, pending records, the group's open records, the group's drafts.
    // ARGV: attempt, draft, duration_ms, now, record_id, the group's channel, the event for doctors, the event for the others
    //       (whole envelopes).
    // Returns 1, or 0 if that attempt is not open (or already drafted).
    public const string StoreDraft = """
        if redis.call('HGET', KEYS[1], 'status') ~= '0' then return 0 end
        if (redis.call('HGET', KEYS[1], 'attempts') or '1') ~= ARGV[1] then return 0 end
        if redis.call('HEXISTS', KEYS[1], 'review_state') == 1 then return 0 end
        redis.call('HSET', KEYS[1], 'review_state', 'pending', 'draft', ARGV[2], 'draft_at', ARGV[4], 'duration_ms', ARGV[3],
            'updated_at', ARGV[4])
        redis.call('SREM', KEYS[2], ARGV[5])
        redis.call('SREM', KEYS[3], ARGV[5])
        redis.call('ZADD', KEYS[4], redis.call('HGET', KEYS[1], 'id'), ARGV[5])
        redis.call('PUBLISH', ARGV[6], ARGV[7])
        redis.call('PUBLISH', ARGV[6], ARGV[8])
        return 1
        """;

    // Review mode: a doctor rejects a pending draft; the record closes without a reply.
    // KEYS: record, the group's drafts. ARGV: reviewed_by, now, record_id, the group's channel, event (a whole envelope).
    // Returns 1, or 0 if no draft of the record is pending.
    public const string RejectDraft = """
        if redis.call('HGET', KEYS[1], 'status') ~= '0' or redis.call('HGET', KEYS[1], 'review_state') ~= 'pending' then return 0 end
        redis.call('HSET', KEYS[1], 'status', 2, 'error_message', '4005: rejected', 'review_state', 'rejected', 'reviewed_by', ARGV[1],
            'updated_at', ARGV[2])
        redis.call('HDEL', KEYS[1], 'draft', 'draft_at')
        redis.call('ZREM', KEYS[2], ARGV[3])
        redis.call('PUBLISH', ARGV[4], ARGV[5])
        return 1
        """;

    // Opens a failed, stopped or rejected record again for one more attempt, on the same context.
    // KEYS: record, pending records, the group's open records. ARGV: now, node, ai_mode, record_id, the group's channel,
    //       event (a whole envelope).
    // Returns the new attempt, or -1 if the record is not closed without a reply.
    public const string ReopenRecord = """
        if redis.call('HGET', KEYS[1], 'status') ~= '2' then return -1 end
        local attempt = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '1') + 1
        redis.call('HSET', KEYS[1], 'status', 0, 'attempts', attempt, 'node', ARGV[2], 'ai_mode', ARGV[3], 'updated_at', ARGV[1])
        redis.call('HDEL', KEYS[1], 'error_message', 'duration_ms', 'review_state', 'reviewed_by', 'edited', 'draft', 'draft_at')
        redis.call('SADD', KEYS[2], ARGV[4])
        redis.call('SADD', KEYS[3], ARGV[4])
        redis.call('PUBLISH', ARGV[5], ARGV[6])
        return attempt
        """;

    // KEYS: media, media bytes. ARGV: media_id, group_id, uploaded_by, content_type, size, width, height, sha256, now, bytes.
    public const string StoreMedia = """
        redis.call('HSET', KEYS[1], 'media_id', ARGV[1], 'group_id', ARGV[2], 'uploaded_by', ARGV[3], 'content_type', ARGV[4],
            'size', ARGV[5], 'width', ARGV[6], 'height', ARGV[7], 'sha256', ARGV[8], 'created_at', ARGV[9])
        redis.call('SET', KEYS[2], ARGV[10])
        return 1
        """;
}
