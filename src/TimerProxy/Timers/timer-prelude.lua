-- The prelude of user code that calls TIMER.* (a library sent with FUNCTION LOAD, a script sent with EVAL or
-- SCRIPT LOAD through the proxy): it follows timer-core.lua inside one function whose result becomes the code's
-- own local `redis`, so that inside that code redis.call / redis.pcall answer TIMER.NEW, TIMER.KILL, TIMER.INFO
-- as the module does from Lua, and TYPE answers timer-tzw for a timer; everything else goes to Redis unchanged.
-- The proxy puts all of it on the code's first line, so that line numbers in errors stay the user's.
--
-- redis.call is a callable table whose __call is a coroutine's C wrapper: an error it raises then passes through
-- a C function called straight from the user's code, so Redis names the user's line in the error (as it does for
-- the module's commands), also for `return redis.call(...)`. A coroutine ends with the error it raises, so each
-- error leaves a fresh one in its place.
--
-- A library's code runs twice: once at FUNCTION LOAD, where only redis.register_function, redis.log and a few
-- constants exist, and then in each call of its functions, where Redis's full `redis` exists. So `redis` here is
-- first a table with what loading needs, and becomes a view of the full one when a function of the library first
-- runs (register_function wraps each callback for that). A script runs only as a call: it gets the full view at once.

local loading = redis
local view = {}
local resp = 2
local last_db = '0'   -- the db where this code last changed a timer: where the next change is looked for first

local function pack(...) return { n = select('#', ...), ... } end

-- Redis's pcall gives a Redis error as its text; xpcall with this handler keeps the error as it was raised.
local function same(e) return e end

local function callable(fn)
  local mt, a = {}, nil
  local function run() return fn(unpack(a, 2, a.n)) end
  local function serve(...)
    a = pack(...)
    while true do
      local ok, r = xpcall(run, same)
      if not ok then
        mt.__call = coroutine.wrap(serve)
        error(r, 0)
      end
      a = pack(coroutine.yield(r))
    end
  end
  mt.__call = coroutine.wrap(serve)
  return setmetatable({}, mt)
end

-- Redis turns a number argument into its %.17g text; anything else but a string is Redis's to refuse.
local function texts(...)
  local n = select('#', ...)
  local a = { ... }
  for i = 1, n do
    local v = a[i]
    if type(v) == 'number' then
      a[i] = string.format('%.17g', v)
    elseif type(v) ~= 'string' then
      return nil
    end
  end
  return a, n
end

local function timer_new(a, n)
  if n < 4 then return arity('timer.new') end
  local call = new_call()
  local reply, due = create(call, a[1], INDEX, a, 2, n)
  index_created(call, INDEX)
  if due then last_db = publish_last(last_db, { due, a[1] }, call.written, call.written_ver) or last_db end
  return reply
end

local function timer_kill(a, n)
  if n ~= 1 then return arity('timer.kill') end
  local id = a[1]
  local k, ver = kind(id)
  local db = last_db
  if k == 'timer' then db = db_holding(last_db, id, ver) or last_db end
  local reply, gone = kill(id, INDEX)
  if gone then
    last_db = db
    publish(db, '0', id)
  end
  return reply
end

-- The module's reply as Lua sees it: RESP2 a flat array with loop 1/0 (nil is false); after redis.setresp(3) a
-- map with loop true/false (nil is nil).
local function timer_info(a, n)
  if n ~= 1 then return arity('timer.info') end
  local k, fn, iv, remaining, loop, fkeys, fargs = read_info(a[1])
  if k == 'none' then
    if resp == 3 then return nil end
    return false
  end
  if k == 'other' then return redis.error_reply('ERR wrong type') end
  if resp == 3 then
    local m = { ['function'] = fn, interval = iv, remaining = remaining, loop = loop == '1' }
    for i = 1, #fkeys do m['key' .. i] = fkeys[i] end
    for i = 1, #fargs do m['arg' .. i] = fargs[i] end
    return { map = m }
  end
  local r = { 'function', fn, 'interval', iv, 'remaining', remaining, 'loop', tonumber(loop) }
  for i = 1, #fkeys do
    r[#r + 1] = 'key' .. i
    r[#r + 1] = fkeys[i]
  end
  for i = 1, #fargs do
    r[#r + 1] = 'arg' .. i
    r[#r + 1] = fargs[i]
  end
  return r
end

local function timer_type(a, n)
  if n == 1 and kind(a[1]) == 'timer' then return redis.status_reply('timer-tzw') end
  return nil
end

local HANDLERS = { ['TIMER.NEW'] = timer_new, ['TIMER.KILL'] = timer_kill, ['TIMER.INFO'] = timer_info, TYPE = timer_type }

-- The handler for a command name (any case), or nil.
local function handler(name)
  if type(name) ~= 'string' then return nil end
  local h = HANDLERS[name]
  if h == nil and (#name == 4 or #name == 9 or #name == 10) then h = HANDLERS[string.upper(name)] end
  return h
end

-- A handler's reply, or nil when it leaves the command to Redis (TYPE of a key that is no timer, arguments that
-- are neither strings nor numbers).
local function answer(h, ...)
  local a, n = texts(...)
  if not a then return nil end
  local r = h(a, n)
  if r == nil and h ~= timer_info then return nil end
  return true, r
end

local function user_call(name, ...)
  local h = handler(name)
  if h then
    local handled, r = answer(h, ...)
    if handled then
      if type(r) == 'table' and r.err then error(r, 0) end
      return r
    end
  end
  return redis.call(name, ...)
end

local function user_pcall(name, ...)
  local h = handler(name)
  if h then
    local args = pack(...)
    local ok, handled, r = xpcall(function() return answer(h, unpack(args, 1, args.n)) end, same)
    if not ok then
      if type(handled) == 'table' and handled.err then return handled end
      error(handled, 0)
    end
    if handled then return r end
  end
  return redis.pcall(name, ...)
end

local function install()
  for k in pairs(view) do view[k] = nil end
  view.call = callable(user_call)
  view.pcall = callable(user_pcall)
  view.setresp = function(v)
    local r = redis.setresp(v)
    resp = v
    return r
  end
  setmetatable(view, { __index = redis })
end

if loading.register_function then
  local installed = false
  -- Loading has no type(), next() or pcall(): a callback is wrapped whatever it is (Redis refuses a nil one).
  local function wrap(cb)
    if cb == nil then return nil end
    return function(keys, args)
      if not installed then
        install()
        installed = true
      end
      return cb(keys, args)
    end
  end
  -- redis.register_function('name', callback) or redis.register_function{function_name=..., callback=..., ...}.
  view.register_function = function(a, b)
    if b == nil and a ~= nil and a.callback ~= nil then
      a.callback = wrap(a.callback)
      return loading.register_function(a)
    end
    return loading.register_function(a, wrap(b))
  end
  view.log = loading.log
  view.LOG_DEBUG, view.LOG_VERBOSE, view.LOG_NOTICE, view.LOG_WARNING =
    loading.LOG_DEBUG, loading.LOG_VERBOSE, loading.LOG_NOTICE, loading.LOG_WARNING
  view.REDIS_VERSION, view.REDIS_VERSION_NUM = loading.REDIS_VERSION, loading.REDIS_VERSION_NUM
else
  install()
end
return view
