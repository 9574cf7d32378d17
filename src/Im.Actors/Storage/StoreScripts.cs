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

    // KEYS: counter, group, members, creator's groups. ARGV: group_id, name, description, has_description, created_by, now, creator_role.
    // Returns the new id, or -1 if the group exists.
    public const string CreateGroup = """
        if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
        local id = redis.call('INCR', KEYS[1])
        redis.call('HSET', KEYS[2], 'id', id, 'group_id', ARGV[1], 'group_name', ARGV[2], 'created_by', ARGV[5],
            'created_at', ARGV[6], 'updated_at', ARGV[6], 'last_seq', 0, 'member_seq', 1)
        if ARGV[4] == '1' then redis.call('HSET', KEYS[2], 'description', ARGV[3]) end
        redis.call('HSET', KEYS[3], ARGV[5], '1|' .. ARGV[7] .. '|' .. ARGV[6])
        redis.call('SADD', KEYS[4], ARGV[1])
        return id
        """;

    // KEYS: group, members, user's groups. ARGV: user_id, role, now, group_id.
    // Returns the join order, 0 if already a member, -1 if no group.
    public const string AddMember = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
        if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
        local order = redis.call('HINCRBY', KEYS[1], 'member_seq', 1)
        redis.call('HSET', KEYS[2], ARGV[1], order .. '|' .. ARGV[2] .. '|' .. ARGV[3])
        redis.call('SADD', KEYS[3], ARGV[4])
        return order
        """;

    // KEYS: members, user's groups. ARGV: user_id, group_id. Returns 1 if removed, 0 if not a member.
    public const string RemoveMember = """
        if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
        redis.call('SREM', KEYS[2], ARGV[2])
        return 1
        """;

    // The append: id and seq taken, message stored and indexed, the AI record created or completed,
    // and the event published, all in one step, so pub/sub order is seq order. With a client_msg_id,
    // the same step first looks for the message that id already stored: a repeat of it is answered
    // with that message and changes nothing; the id with other content is a conflict.
    // KEYS: msg counter, group, group messages, message, record counter, record, group records, pending records,
    //       sent-once (the sender's client_msg_id in this group).
    // ARGV: message_id, group_id, from, msg_type, content, now, user_message_id ('' for none),
    //       record mode ('none' | 'create' | 'complete'), record_id, ai_service_url, duration_ms,
    //       channel, payload head, payload middle, payload tail, node (of an opened record),
    //       fingerprint of msg_type and content (64 hex digits; '' without client_msg_id), window in seconds,
    //       an IMAGE's media content type, size, width and height ('' for other messages).
    // Returns {id, seq, record id (0 unless created)}, or {-1, message_id} for a repeat, or {-2} for a conflict.
    public const string AppendMessage = """
        if ARGV[17] ~= '' then
            local first = redis.call('GET', KEYS[9])
            if first then
                if string.sub(first, 1, 64) == ARGV[17] then return {-1, string.sub(first, 66)} end
                return {-2}
            end
            redis.call('SET', KEYS[9], ARGV[17] .. ' ' .. ARGV[1], 'EX', ARGV[18])
        end
        local id = redis.call('INCR', KEYS[1])
        local seq = redis.call('HINCRBY', KEYS[2], 'last_seq', 1)
        redis.call('HSET', KEYS[4], 'id', id, 'message_id', ARGV[1], 'group_id', ARGV[2], 'from_user_id', ARGV[3],
            'msg_type', ARGV[4], 'msg_content', ARGV[5], 'seq', seq, 'created_at', ARGV[6], 'updated_at', ARGV[6])
        if ARGV[7] ~= '' then redis.call('HSET', KEYS[4], 'user_message_id', ARGV[7]) end
        if ARGV[19] ~= '' then
            redis.call('HSET', KEYS[4], 'media_type', ARGV[19], 'media_size', ARGV[20], 'media_width', ARGV[21], 'media_height', ARGV[22])
        end
        redis.call('ZADD', KEYS[3], seq, ARGV[1])
        local record = 0
        if ARGV[8] == 'create' then
            record = redis.call('INCR', KEYS[5])
            redis.call('HSET', KEYS[6], 'id', record, 'record_id', ARGV[9], 'group_id', ARGV[2], 'user_message_id', ARGV[1],
                'ai_service_url', ARGV[10], 'status', 0, 'node', ARGV[16], 'created_at', ARGV[6], 'updated_at', ARGV[6])
            redis.call('ZADD', KEYS[7], record, ARGV[9])
            redis.call('SADD', KEYS[8], ARGV[9])
        elseif ARGV[8] == 'complete' then
            redis.call('HSET', KEYS[6], 'status', 1, 'ai_message_id', ARGV[1], 'duration_ms', ARGV[11], 'updated_at', ARGV[6])
            redis.call('HDEL', KEYS[6], 'error_message')
            redis.call('SREM', KEYS[8], ARGV[9])
        end
        redis.call('PUBLISH', ARGV[12], ARGV[13] .. id .. ARGV[14] .. seq .. ARGV[15])
        return {id, seq, record}
        """;

    // KEYS: media, media bytes. ARGV: media_id, group_id, uploaded_by, content_type, size, width, height, sha256, now, bytes.
    public const string StoreMedia = """
        redis.call('HSET', KEYS[1], 'media_id', ARGV[1], 'group_id', ARGV[2], 'uploaded_by', ARGV[3], 'content_type', ARGV[4],
            'size', ARGV[5], 'width', ARGV[6], 'height', ARGV[7], 'sha256', ARGV[8], 'created_at', ARGV[9])
        redis.call('SET', KEYS[2], ARGV[10])
        return 1
        """;

    // KEYS: record, pending records. ARGV: error_message, duration_ms ('' for none), now, record_id.
    // Only a record still at status 0 is failed; returns 1 if it was.
    public const string FailRecord = """
        if redis.call('HGET', KEYS[1], 'status') ~= '0' then return 0 end
        redis.call('HSET', KEYS[1], 'status', 2, 'error_message', ARGV[1], 'updated_at', ARGV[3])
        if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'duration_ms', ARGV[2]) end
        redis.call('SREM', KEYS[2], ARGV[4])
        return 1
        """;
}
