-- The timer operations shared by the redistimer library (timer-library.lua) and the prelude of user code that
-- calls TIMER.* (timer-prelude.lua): the same source, so the two write the same state (docs/STORAGE.md).
-- Inside the prelude this is one line: no long strings, and no '--' inside a string.

local TAG = '__timer-tzw__'         -- hash field that marks a timer; its value is the schema version
local SCHEMA = '1'
local INDEX = 'timer-tzw:due'       -- per database: sorted set of the timers' due times
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
-- ...) naming the db where `id` holds `ver`, and returns that db. An event naming a wrong db would only send the schedulers to
-- re-read a key there; the right one lets them fire this change on time instead of at reconciliation.
local function publish_last(hint, events, id, ver)
  if #events == 0 then return end
  local db = db_holding(hint, id, ver)
  if not db then return end
  for i = 1, #events, 2 do publish(db, events[i], events[i + 1]) end
  return db
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


-- What TIMER.INFO shows: 'none', 'other', or 'timer' followed by function, interval, remaining (ms to the next
-- fire, truncated, never below 0), loop ('1' or '0'), keys, args.
local function read_info(id)
  local k = kind(id)
  if k ~= 'timer' then return k end
  local h = redis.call('HMGET', id, 'due', 'def')
  local remaining = math.floor(tonumber(h[1]) - now_ms())
  if remaining < 0 then remaining = 0 end
  local fn, iv, loop, fkeys, fargs = unpack_def(h[2])
  return k, fn, tonumber(iv), remaining, loop, fkeys, fargs
end
