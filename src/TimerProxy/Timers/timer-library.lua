#!lua name=redistimer
-- RedisTimer's timer library, schema v1 (docs/STORAGE.md). Every change of a timer's state goes
-- through one of these functions, so it is atomic, persisted and replicated by Redis itself.

local TAG = '__timer-tzw__'         -- hash field that marks a timer; its value is the schema version
local SCHEMA = '1'
local EVENTS = 'timer-tzw:events'   -- channel: "<db>:<due ms, or 0 if gone>:<id>" after each change
local MAX_DUE = 9007199254740992    -- 2^53: the largest ms a sorted-set score holds exactly
local INFO_MAGIC = '\27RedisTimerInfo1'  -- marks TIMER.INFO's reply for the proxy to re-encode
-- Changes due further ahead are not published: schedulers find them at their reconciliation (every
-- second, well before they are due). The first timer of a database is always published, to wake
-- schedulers that have gone quiet because there were no timers.
local EVENT_HORIZON_MS = 10000

local function arity(name)
  return redis.error_reply("ERR wrong number of arguments for '" .. name .. "' command")
end

-- The server time in ms (with the µs as fraction), and TIME's reply for new_version: one TIME per call.
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000, t
end

local function now_ms() return (clock()) end

-- Redis's string2ll: optional '-', no '+', no leading zeros, no spaces, within int64.
local function parse_int(s)
  if s == '0' then return 0 end
  local neg, digits = false, s
  if string.sub(s, 1, 1) == '-' then neg, digits = true, string.sub(s, 2) end
  if not string.match(digits, '^[1-9]%d*$') then return nil end
  if #digits > 19 or (#digits == 19 and digits > '9223372036854775807') then
    if not (neg and digits == '9223372036854775808') then return nil end
  end
  local n = tonumber(digits)
  if neg then n = -n end
  return n
end

local function fmt_ms(x) return string.format('%.3f', x) end

-- 'none', 'timer' or 'other'; for a timer also its version.
local function kind(key)
  local t = redis.call('TYPE', key)['ok']
  if t == 'none' then return 'none' end
  if t == 'hash' then
    local h = redis.call('HMGET', key, TAG, 'ver')
    if h[1] then return 'timer', h[2] end
  end
  return 'other'
end

-- Versions tell a scheduler whether the timer it holds is still the one in Redis: server time in
-- microseconds, made distinct from the previous version of the same key.
local function new_version(previous, t, base)
  local v = base
  if not v then
    t = t or redis.call('TIME')
    local us = t[2]
    v = t[1] .. string.rep('0', 6 - #us) .. us
  end
  if previous and string.sub(previous, 1, #v) == v then
    v = v .. '.' .. tostring((tonumber(string.match(previous, '%.(%d+)$')) or 0) + 1)
  end
  return v
end

-- A user without publish rights on the channel still gets the change made; schedulers then find it
-- at their next reconciliation instead of at once.
-- The due time lets a scheduler ignore a change beyond its window without reading the timer.
local function publish(db, due, id)
  redis.pcall('PUBLISH', EVENTS, db .. ':' .. due .. ':' .. id)
end

-- The db a call's ARGV names is the one the session believes the client selected: a SELECT that Redis
-- refused (SELECT 99), or one that a DISCARD, an EXECABORT or an aborted EXEC dropped, misleads it, and a
-- script cannot ask which db it runs in. The db where `id` holds version `ver` (just written by this call)
-- is the caller's: found from the hint with one SELECT and HGET when the hint is right, else by trying
-- each db. Leaves the script selected there; nil when no db holds it (a cluster allows only db 0).
local function db_holding(hint, id, ver)
  local function holds(db)
    local selected = redis.pcall('SELECT', db)
    if type(selected) == 'table' and selected.err then return nil end
    return redis.pcall('HGET', id, 'ver') == ver
  end
  if holds(hint) then return hint end
  local db = 0
  while true do
    local found = holds(tostring(db))
    if found == nil then return nil end
    if found then return tostring(db) end
    db = db + 1
  end
end

-- As a call's last step (it may leave the script in another db): publishes its events (due, id, due, id,
-- ...) naming the db where `id` holds `ver`. An event naming a wrong db would only send the schedulers to
-- re-read a key there; the right one lets them fire this change on time instead of at reconciliation.
local function publish_last(hint, events, id, ver)
  if #events == 0 then return end
  local db = db_holding(hint, id, ver)
  if not db then return end
  for i = 1, #events, 2 do publish(db, events[i], events[i + 1]) end
end

-- Changes that leave no timer at their ids (kills) are published under the hint when that db exists: a
-- scheduler re-reads a key there that it holds, and a timer it still holds elsewhere no longer fires (its
-- version check fails when it comes due). Database 0 always exists (and a cluster has no other).
local function publish_gone(hint, ids)
  if #ids == 0 then return end
  if hint ~= '0' then
    local selected = redis.pcall('SELECT', hint)
    if type(selected) == 'table' and selected.err then return end
  end
  for i = 1, #ids do publish(hint, '0', ids[i]) end
end

local function pack_def(fn, iv, loop, fkeys, fargs)
  local d = { fn, iv, loop, tostring(#fkeys) }
  for i = 1, #fkeys do d[#d + 1] = fkeys[i] end
  for i = 1, #fargs do d[#d + 1] = fargs[i] end
  return cmsgpack.pack(d)
end

local function unpack_def(packed)
  local d = cmsgpack.unpack(packed)
  local nk = tonumber(d[4])
  local fkeys, fargs = {}, {}
  for i = 1, nk do fkeys[i] = d[4 + i] end
  for i = 5 + nk, #d do fargs[#fargs + 1] = d[i] end
  return d[1], d[2], d[3], fkeys, fargs
end

-- The module's failing TIMER.KILL still invalidates a WATCH on the key; re-setting its own expiry
-- is a write that changes nothing else.
local function touch(key)
  local at = redis.call('PEXPIRETIME', key)
  if at > 0 then
    redis.call('PEXPIREAT', key, at)
  else
    redis.call('PEXPIREAT', key, MAX_DUE)
    redis.call('PERSIST', key)
  end
end

-- The timer will run FCALL fn with these keys; refuse what its creator could not run itself.
local function acl_refusal(fn, keys)
  if not redis.acl_check_cmd('FCALL', fn, '0') then
    return redis.error_reply("NOPERM this user has no permissions to run the 'fcall' command")
  end
  -- In slices: Lua's unpack stops at about 8000 values, and the module takes any number of keys.
  local KEYS_PER_CHECK = 1000
  for from = 1, #keys, KEYS_PER_CHECK do
    local to = math.min(from + KEYS_PER_CHECK - 1, #keys)
    if not redis.acl_check_cmd('FCALL', fn, tostring(to - from + 1), unpack(keys, from, to)) then
      return redis.error_reply('NOPERM this user has no permissions to access one of the keys used as arguments')
    end
  end
  return nil
end

-- What the TIMER.NEWs of one call share: the clock, and what follows from it or from repeated arguments
-- (a client creating many timers usually repeats function and interval).
local function new_call()
  local now, t = clock()
  -- index: the ZADD arguments (due, id, ...) of the call's timers, written in one command at the end.
  -- none_before: no id of the call existed when it began (one EXISTS instead of a TYPE per timer); created:
  -- the ids it has written since, which do exist.
  return { now = now, version = new_version(nil, t), acl = {}, due = {}, def = {}, index = {}, was_empty = nil,
           none_before = false, created = {} }
end

-- The call's timers enter the index; a call that created nothing writes nothing.
local function index_created(call, index)
  if #call.index > 0 then redis.call('ZADD', index, unpack(call.index)) end
end

-- One TIMER.NEW, shared by timer_new and timer_batch so both give the same replies. Its arguments are
-- args[from..last]: f iv [LOOP] numkeys keys.. args.. (the client's, after the id). Returns the reply
-- (0, 1 or an error) and, when the change is to be published, its due time. The caller then indexes the
-- call's timers (index_created).
local function create(call, id, index, args, from, last)
  if last - from + 1 < 3 then return arity('timer.new') end
  if id == index then return redis.error_reply('ERR ' .. index .. ' is the timer index of this database; use another id') end
  local fn, ivs = args[from], args[from + 1]
  local due = call.due[ivs]
  if due == nil then
    local iv = parse_int(ivs)
    if iv == nil or iv <= 0 or call.now + iv > MAX_DUE then
      due = false
    else
      due = { iv = iv, text = fmt_ms(call.now + iv) }
    end
    call.due[ivs] = due
  end
  if not due then return redis.error_reply('ERR invalid interval') end
  local pos, loop = from + 2, '0'
  if string.upper(args[pos]) == 'LOOP' then pos, loop = pos + 1, '1' end
  if pos > last then return arity('timer.new') end
  local nk = parse_int(args[pos])
  if nk == nil or nk < 0 then return redis.error_reply('ERR invalid numkeys') end
  if nk > last - pos then return arity('timer.new') end
  -- The permission to run fn without keys is the same for every timer of a call; keys are checked each time.
  local refused = call.acl[fn]
  if refused == nil then
    refused = acl_refusal(fn, {}) or false
    call.acl[fn] = refused
  end
  local def
  if pos == last then
    -- No keys, no arguments: the same definition as the call's other timers with this function and interval.
    local shared = fn .. '\0' .. ivs .. loop
    def = call.def[shared]
    if def == nil then
      def = pack_def(fn, ivs, loop, {}, {})
      call.def[shared] = def
    end
  else
    local fkeys, fargs = {}, {}
    for i = 1, nk do fkeys[i] = args[pos + i] end
    for i = pos + nk + 1, last do fargs[#fargs + 1] = args[i] end
    if not refused and nk > 0 then refused = acl_refusal(fn, fkeys) end
    def = pack_def(fn, ivs, loop, fkeys, fargs)
  end
  if refused then return refused end

  local existing, previous = 'none', nil
  if not call.none_before or call.created[id] then existing, previous = kind(id) end
  if existing ~= 'none' then redis.call('DEL', id) end
  call.created[id] = true
  local ver = new_version(previous, nil, call.version)
  redis.call('HSET', id, TAG, SCHEMA, 'due', due.text, 'ver', ver, 'def', def)
  -- The call's last write: what its events' db is checked against (publish_last).
  call.written, call.written_ver = id, ver
  call.index[#call.index + 1] = due.text
  call.index[#call.index + 1] = id
  local publish_due = nil
  -- The first timer of the database is published (the index was empty); later ones of the call are not the first.
  if due.iv <= EVENT_HORIZON_MS then
    publish_due = due.text
  elseif call.was_empty == nil then
    call.was_empty = redis.call('EXISTS', index) == 0
    if call.was_empty then publish_due = due.text end
  end
  if existing == 'timer' then return 0, publish_due end
  return 1, publish_due
end

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

-- One TIMER.KILL of an id, shared by timer_kill and timer_kills. Returns the reply (0, 1 or an error) and
-- whether a timer was removed (its gone event is to be published).
local function kill(id, index)
  local k = kind(id)
  if k == 'none' then return 0 end
  if k == 'other' then
    touch(id)
    return redis.error_reply('ERR wrong type')
  end
  redis.call('DEL', id)
  redis.call('ZREM', index, id)
  return 1, true
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
  local id = keys[1]
  local k = kind(id)
  if k == 'none' then return info_reply('n') end
  if k == 'other' then return info_reply('eERR wrong type') end
  local h = redis.call('HMGET', id, 'due', 'def')
  local remaining = math.floor(tonumber(h[1]) - now_ms())
  if remaining < 0 then remaining = 0 end
  local fn, iv, loop, fkeys, fargs = unpack_def(h[2])
  local head = bulk('function') .. bulk(fn) .. bulk('interval') .. int(tonumber(iv))
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
-- its bounded work per call. COUNT is a hint, as SCAN's, and at most LIST_MAX_COUNT: Redis's own ZSCAN and an
-- HMGET per timer cost about 8 us a timer on a 1M index: a page of 250 held Redis 2.3 ms on average, but 10 of
-- 3,993 pages over 5 ms (ZSCAN may return more than COUNT); 200 keeps the worst under it. KEYS: index.
-- The proxy composes the reply (the library only reads): payload "l" and a msgpack array of strings, the
-- cursor, the server's time in ms, then per timer its id and LIST_FIELDS after the tag, '' for a field absent.
local LIST_MAX_COUNT = 200
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
