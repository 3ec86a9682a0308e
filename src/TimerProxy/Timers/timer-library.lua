#!lua name=redistimer
-- RedisTimer's timer library, schema v1 (docs/STORAGE.md). Every change of a timer's state goes
-- through one of these functions, so it is atomic, persisted and replicated by Redis itself.

-- #include timer-core.lua

-- KEYS: id, index. ARGV: db, then the client's arguments after the id: f iv [LOOP] numkeys keys.. args..
local function timer_new(keys, args)
  if #keys < 2 then return arity('timer.new') end
  local call = new_call()
  local reply, due = create(call, keys[1], keys[2], args, 2, #args)
  index_created(call, keys[2])
  if due then publish_last(args[1], { due, keys[1] }, call.written, call.written_ver) end
  return reply
end

-- A reply (an integer or an error) as RESP, for the merged calls' marked reply.
local function resp_reply(reply)
  if type(reply) == 'table' then return '-' .. reply.err .. '\r\n' end
  return ':' .. reply .. '\r\n'
end

-- KEYS: id, index. ARGV: db.
local function timer_kill(keys, args)
  if #keys ~= 2 then return arity('timer.kill') end
  local reply, gone = kill(keys[1], keys[2])
  if gone then publish_gone(args[1], { keys[1] }) end
  return reply
end

-- Consecutive TIMER.NEWs a client pipelined, in one call (the proxy merges them; Redis does a fraction of
-- the work per timer). KEYS: index. ARGV: "<db>:<token>", then per timer: the count n of its arguments
-- after the id, the id, those n arguments. Each timer gets the reply timer_new would give it, in order;
-- the ids are not declared keys, so the creating user's key permissions are checked per timer, as FCALL
-- timer_new would check them. Returns {magic: "b<token>:" .. the replies in RESP}, which the proxy
-- writes out as separate replies.
local function timer_batch(keys, args)
  local index = keys[1]
  local db, token = string.match(args[1] or '', '^(%d+):(%d+)$')
  local call, replies, events = new_call(), {}, {}
  -- Only the proxy writes these calls; one written by hand is checked whole before anything changes.
  if not db then return redis.error_reply('ERR malformed timer_batch call') end
  local at, ids = 2, { index }
  while at <= #args do
    local n = tonumber(args[at])
    if n == nil or at + 1 + n > #args then return redis.error_reply('ERR malformed timer_batch call') end
    ids[#ids + 1] = args[at + 1]
    at = at + 2 + n
  end
  -- Usually the user may write every id: one check for all, else one per timer.
  local every_key = redis.acl_check_cmd('FCALL', 'timer_new', tostring(#ids), unpack(ids))
  -- Usually every id is new (measured with 5M timers present: a TYPE per timer cost Redis about 1 µs more).
  -- A user who may not run it keeps the per-timer TYPE (and its error, as a single TIMER.NEW would get it).
  if every_key and #ids > 2 then call.none_before = redis.pcall('EXISTS', unpack(ids, 2)) == 0 end
  at = 2
  while at <= #args do
    local n, id = tonumber(args[at]), args[at + 1]
    local reply, due
    if not every_key and not redis.acl_check_cmd('FCALL', 'timer_new', '2', id, index) then
      reply = redis.error_reply('NOPERM this user has no permissions to access one of the keys used as arguments')
    else
      reply, due = create(call, id, index, args, at + 2, at + 1 + n)
    end
    replies[#replies + 1] = resp_reply(reply)
    if due then
      events[#events + 1] = due
      events[#events + 1] = id
    end
    at = at + 2 + n
  end
  index_created(call, index)
  publish_last(db, events, call.written, call.written_ver)
  return { map = { [INFO_MAGIC] = 'b' .. token .. ':' .. table.concat(replies) } }
end

-- Consecutive TIMER.KILLs a client pipelined, in one call, as timer_batch merges TIMER.NEWs (a separate
-- function: like timer_kill it runs when Redis is out of memory). KEYS: index. ARGV: "<db>:<token>", then
-- the ids. Each gets the reply timer_kill would give it, the user's key permissions checked per id.
local function timer_kills(keys, args)
  local index = keys[1]
  local db, token = string.match(args[1] or '', '^(%d+):(%d+)$')
  if not db or #args < 2 then return redis.error_reply('ERR malformed timer_kills call') end
  local ids = { index }
  for i = 2, #args do ids[i] = args[i] end
  local every_key = redis.acl_check_cmd('FCALL', 'timer_kill', tostring(#ids), unpack(ids))
  local replies, gone = {}, {}
  for i = 2, #args do
    local id, reply, removed = args[i]
    if not every_key and not redis.acl_check_cmd('FCALL', 'timer_kill', '2', id, index) then
      reply = redis.error_reply('NOPERM this user has no permissions to access one of the keys used as arguments')
    else
      reply, removed = kill(id, index)
      if removed then gone[#gone + 1] = id end
    end
    replies[#replies + 1] = resp_reply(reply)
  end
  publish_gone(db, gone)
  return { map = { [INFO_MAGIC] = 'b' .. token .. ':' .. table.concat(replies) } }
end

local function bulk(s) return '$' .. #s .. '\r\n' .. s .. '\r\n' end
local function int(n) return ':' .. string.format('%.0f', n) .. '\r\n' end

-- Every TIMER.INFO reply (value, nil or error) is a one-entry map {INFO_MAGIC: payload}: a one-entry map
-- has no order to lose, and its header (%1 or *2) tells the proxy which protocol the client speaks, so it
-- writes the module's reply: the ordered flat array (RESP2) or a map with a boolean (RESP3).
-- Payload: "n" (no such key), "e<error text>", or "v<count>:<offset of the loop value>\r\n<RESP2 elements>".
local function info_reply(payload) return { map = { [INFO_MAGIC] = payload } } end

-- TIMER.STATS: the proxy's own figures, which it passes in. ARGV: the count of the client's arguments after the
-- name, then name, value, ... Payload: "s<count>\r\n<RESP2 elements>", written by the proxy as a flat array
-- (RESP2) or a map (RESP3).
local function timer_stats(keys, args)
  if args[1] ~= '0' then return info_reply("eERR wrong number of arguments for 'timer.stats' command") end
  local parts = {}
  for i = 2, #args - 1, 2 do parts[#parts + 1] = bulk(args[i]) .. int(tonumber(args[i + 1])) end
  return info_reply('s' .. (2 * #parts) .. '\r\n' .. table.concat(parts))
end

-- KEYS: id.
local function timer_info(keys, args)
  if #keys ~= 1 or #args ~= 0 then
    return info_reply("eERR wrong number of arguments for 'timer.info' command")
  end
  local k, fn, iv, remaining, loop, fkeys, fargs = read_info(keys[1])
  if k == 'none' then return info_reply('n') end
  if k == 'other' then return info_reply('eERR wrong type') end
  local head = bulk('function') .. bulk(fn) .. bulk('interval') .. int(iv)
    .. bulk('remaining') .. int(remaining) .. bulk('loop')
  local parts = { head, ':' .. loop .. '\r\n' }
  local count = 8
  for i = 1, #fkeys do
    parts[#parts + 1] = bulk('key' .. i) .. bulk(fkeys[i])
    count = count + 2
  end
  for i = 1, #fargs do
    parts[#parts + 1] = bulk('arg' .. i) .. bulk(fargs[i])
    count = count + 2
  end
  return info_reply('v' .. count .. ':' .. #head .. '\r\n' .. table.concat(parts))
end

-- KEYS: key.
local function timer_type(keys, args)
  if kind(keys[1]) == 'timer' then return redis.status_reply('timer-tzw') end
  return redis.call('TYPE', keys[1])
end

-- KEYS: src, dst, index. ARGV: db, 'RENAME' or 'RENAMENX'. The schedule follows the new name.
local function timer_rename(keys, args)
  local src, dst, index, db = keys[1], keys[2], keys[3], args[1]
  if src == index or dst == index then return redis.error_reply('ERR ' .. index .. ' is the timer index of this database') end
  local src_timer = kind(src) == 'timer'
  local dst_timer = src ~= dst and kind(dst) == 'timer'
  local r = redis.pcall(args[2], src, dst)
  if type(r) == 'table' and r.err then return r end
  if r == 0 or src == dst then return r end
  if dst_timer then redis.call('ZREM', index, dst) end
  if src_timer then
    redis.call('ZREM', index, src)
    local due = redis.call('HGET', dst, 'due')
    local ver = new_version(redis.call('HGET', dst, 'ver'))
    redis.call('ZADD', index, due, dst)
    redis.call('HSET', dst, 'ver', ver)
    publish_last(db, { '0', src, due, dst }, dst, ver)
  elseif dst_timer then
    publish(db, '0', dst)
  end
  return r
end

-- KEYS: key, index. ARGV: db, target db. The due time stays; the timer fires in the target db.
local function timer_move(keys, args)
  local key, index, db, target = keys[1], keys[2], args[1], args[2]
  if key == index then return redis.error_reply('ERR ' .. index .. ' is the timer index of this database') end
  if kind(key) ~= 'timer' then return redis.pcall('MOVE', key, target) end
  local due = redis.call('HGET', key, 'due')
  local r = redis.pcall('MOVE', key, target)
  if type(r) == 'table' and r.err then return r end
  if r == 1 then
    redis.call('ZREM', index, key)
    publish(db, '0', key)
    redis.call('SELECT', target)
    redis.call('ZADD', index, due, key)
    redis.call('HSET', key, 'ver', new_version(redis.call('HGET', key, 'ver')))
    publish(target, due, key)
  end
  return r
end

-- KEYS: src, dst. ARGV: the COPY options. A timer is not copied (as the module refuses it).
local function timer_copy(keys, args)
  if kind(keys[1]) == 'timer' then return redis.error_reply('ERR not supported for this module key') end
  return redis.pcall('COPY', keys[1], keys[2], unpack(args))
end

-- ARGV: cursor, MATCH/COUNT options, and the TYPE wanted ('timer-tzw' or 'hash', any case) last.
-- Timers are hashes in Redis; SCAN TYPE timer-tzw lists them, SCAN TYPE hash leaves them out.
local function timer_scan(keys, args)
  local want_timers = string.lower(args[#args]) == 'timer-tzw'
  local call = { 'SCAN' }
  for i = 1, #args - 1 do call[#call + 1] = args[i] end
  call[#call + 1] = 'TYPE'
  call[#call + 1] = 'hash'
  local r = redis.pcall(unpack(call))
  if type(r) == 'table' and r.err then return r end
  local out = {}
  for _, k in ipairs(r[2]) do
    if (redis.call('HEXISTS', k, TAG) == 1) == want_timers then out[#out + 1] = k end
  end
  return { r[1], out }
end

-- Drops an index entry whose key is no longer a timer (deleted, overwritten or expired directly).
-- KEYS: index. ARGV: ids.
local function timer_unindex(keys, args)
  local removed = 0
  for _, id in ipairs(args) do
    if kind(id) ~= 'timer' then removed = removed + redis.call('ZREM', keys[1], id) end
  end
  return removed
end

-- A timer that arrived under a key the index does not know (RENAME, MOVE or RESTORE done directly on
-- Redis, seen through keyspace notifications; or RESTORE through the proxy): index it where it is now.
-- KEYS: key, index. ARGV: db. Returns 1 when the key is a timer.
local function timer_adopt(keys, args)
  local key, index = keys[1], keys[2]
  if kind(key) ~= 'timer' then return 0 end
  local due = redis.call('HGET', key, 'due')
  local score = redis.call('ZSCORE', index, key)
  -- Not indexed (restored, or renamed or moved behind the proxy's back), or indexed with the due time of the
  -- timer it replaced (RESTORE ... REPLACE over a timer): index it as it is now, under a new version.
  if not score or tonumber(score) ~= tonumber(due) then
    local ver = new_version(redis.call('HGET', key, 'ver'))
    redis.call('ZADD', index, due, key)
    redis.call('HSET', key, 'ver', ver)
    publish_last(args[1], { due, key }, key, ver)
  end
  return 1
end

-- KEYS: key, index. ARGV: db, then RESTORE's arguments after the key.
local function timer_restore(keys, args)
  local call = { 'RESTORE', keys[1] }
  for i = 2, #args do call[#call + 1] = args[i] end
  local r = redis.pcall(unpack(call))
  if type(r) == 'table' and r.err then return r end
  timer_adopt(keys, args)
  return r
end

-- TIMER.LIST [MATCH pattern] [COUNT n] [CURSOR c]: the timers of this db, a page at a time, from a ZSCAN of
-- the index, so it has SCAN's guarantee (a timer present for the whole iteration is listed at least once) and
-- its bounded work per call. COUNT is a hint, as SCAN's, and at most LIST_MAX_COUNT. Redis's own ZSCAN (3 us a
-- member, most of it formatting the scores) and an HMGET per timer cost Redis 11 us a timer on a 1M index
-- (bench/scale-bench.sh, Redis's CPU per call). Pages of 200 took 2.2-2.3 ms at the median and 3.3-4.1 ms at p99,
-- with 16-31 pages in 4,993 at 5 ms or more. Pages of 100 took 1.1-1.2 ms and 1.8-2.3 ms, with 3 and 12 pages in
-- 9,963 at 5 ms or more (two runs). This VM stalls any call now and then: even a plain ZSCAN of 200 reached
-- 5-12 ms in 1-3 calls of 5,000. So 100 keeps each call's own work far under 5 ms. KEYS: index.
-- The proxy composes the reply (the library only reads): payload "l" and a msgpack array of strings, the
-- cursor, the server's time in ms, then per timer its id and LIST_FIELDS after the tag, '' for a field absent.
local LIST_MAX_COUNT = 100
local LIST_FIELDS = { TAG, 'due', 'def', 'runs_ok', 'runs_failed', 'last_at', 'last_late', 'last_err' }

local function timer_list(keys, args)
  local cursor, match, count = '0', nil, 10
  for i = 1, #args, 2 do
    local option, value = string.upper(args[i]), args[i + 1]
    if value == nil then return info_reply('eERR syntax error') end
    if option == 'MATCH' then
      match = value
    elseif option == 'COUNT' then
      count = parse_int(value)
      if not count then return info_reply('eERR value is not an integer or out of range') end
      if count < 1 then return info_reply('eERR syntax error') end
    elseif option == 'CURSOR' then
      if not string.match(value, '^%d+$') or #value > 20 or (#value == 20 and value > '18446744073709551615') then
        return info_reply('eERR invalid cursor')
      end
      cursor = value
    else
      return info_reply('eERR syntax error')
    end
  end
  if count > LIST_MAX_COUNT then count = LIST_MAX_COUNT end
  local call = { 'ZSCAN', keys[1], cursor, 'COUNT', count }
  if match then
    call[#call + 1] = 'MATCH'
    call[#call + 1] = match
  end
  local r = redis.pcall(unpack(call))
  if type(r) == 'table' and r.err then return info_reply('e' .. r.err) end
  local rows = { r[1], string.format('%.3f', now_ms()) }
  for i = 1, #r[2], 2 do
    local id = r[2][i]
    local h = redis.pcall('HMGET', id, unpack(LIST_FIELDS))
    -- An index entry whose key is no timer now (deleted or overwritten directly) is left to reconciliation.
    if not h.err and h[1] and h[2] and h[3] then
      local n = #rows
      rows[n + 1], rows[n + 2], rows[n + 3] = id, h[2], h[3]
      for f = 4, #LIST_FIELDS do rows[n + f] = h[f] or '' end
    end
  end
  return info_reply('l' .. cmsgpack.pack(rows))
end

-- What each fire came to, written by the scheduler right after the fire transaction (the function's reply is
-- known only then): a LOOP timer still in the version that fire gave it counts the run (runs_ok, runs_failed)
-- and keeps the last one (last_at: ms on the Redis clock, last_late: ms after its due time, last_err: '' when it
-- succeeded); a failed fire of any timer is also kept in a short list of the db's recent failures (one-shot
-- timers are gone by then), as JSON objects newest first, which lives a day after the last failure. KEYS: the failures list, then the ids.
-- ARGV: at, then per id: the version of the re-armed LOOP timer ('' for a one-shot), lateness, error
-- ('' when none), function.
local FAILURES_KEPT = 100
local FAILURES_TTL_MS = 86400000

local function timer_outcomes(keys, args)
  local at = args[1]
  local failed = {}
  for i = 2, #keys do
    local id, j = keys[i], 2 + (i - 2) * 4
    local ver, late, err, fn = args[j], args[j + 1], args[j + 2], args[j + 3]
    if ver ~= '' and redis.pcall('HGET', id, 'ver') == ver then
      redis.call('HINCRBY', id, err == '' and 'runs_ok' or 'runs_failed', 1)
      redis.call('HSET', id, 'last_at', at, 'last_late', late, 'last_err', err)
    end
    if err ~= '' then
      failed[#failed + 1] = cjson.encode({ id = id, ['function'] = fn, at = tonumber(at), lateness = tonumber(late), error = err })
    end
  end
  if #failed > 0 then
    redis.call('LPUSH', keys[1], unpack(failed))
    redis.call('LTRIM', keys[1], 0, FAILURES_KEPT - 1)
    redis.call('PEXPIRE', keys[1], FAILURES_TTL_MS)
  end
  return #failed
end

-- The scheduler's leader lease (one proxy fires, the others stand by). KEYS: lease key. ARGV: proxy id, lease ms.
-- Taken when free, renewed when held by this proxy: 1 when it holds the lease now, else 0.
local function timer_lease(keys, args)
  local holder = redis.call('GET', keys[1])
  if holder and holder ~= args[1] then return 0 end
  redis.call('SET', keys[1], args[1], 'PX', args[2])
  return 1
end

-- Gives the lease up (a proxy stopping, or with nothing left to fire), if this proxy holds it.
local function timer_release(keys, args)
  if redis.call('GET', keys[1]) ~= args[1] then return 0 end
  return redis.call('DEL', keys[1])
end

redis.register_function{function_name='timer_new', callback=timer_new}
redis.register_function{function_name='timer_batch', callback=timer_batch}
redis.register_function{function_name='timer_kills', callback=timer_kills, flags={'allow-oom'}}
redis.register_function{function_name='timer_kill', callback=timer_kill, flags={'allow-oom'}}
redis.register_function{function_name='timer_info', callback=timer_info, flags={'no-writes', 'allow-stale'}}
redis.register_function{function_name='timer_stats', callback=timer_stats, flags={'no-writes', 'allow-stale'}}
redis.register_function{function_name='timer_type', callback=timer_type, flags={'no-writes', 'allow-stale'}}
-- RENAME and MOVE are not refused under maxmemory by Redis either.
redis.register_function{function_name='timer_rename', callback=timer_rename, flags={'allow-oom'}}
redis.register_function{function_name='timer_move', callback=timer_move, flags={'allow-oom'}}
redis.register_function{function_name='timer_copy', callback=timer_copy}
redis.register_function{function_name='timer_scan', callback=timer_scan, flags={'no-writes', 'allow-stale'}}
redis.register_function{function_name='timer_adopt', callback=timer_adopt}
redis.register_function{function_name='timer_restore', callback=timer_restore}
redis.register_function{function_name='timer_unindex', callback=timer_unindex, flags={'allow-oom'}}
redis.register_function{function_name='timer_list', callback=timer_list, flags={'no-writes', 'allow-stale'}}
redis.register_function{function_name='timer_outcomes', callback=timer_outcomes}
redis.register_function{function_name='timer_lease', callback=timer_lease}
redis.register_function{function_name='timer_release', callback=timer_release, flags={'allow-oom'}}
