#!lua name=demo
-- The demo application's timer callback. examples/docker-compose.yml loads this library into Redis at start
-- (FUNCTION LOAD REPLACE, by its one-shot service load-library); tests/TimerProxy.Tests/Hosting/DemoLibraryTests.cs
-- fires it through the proxy.
--
-- demo_tick: keys = {counter, log}, args = {label}: counts the tick in the counter and pushes
-- "<label> #<count> at <seconds.micros>" (Redis's clock) on the log, keeping the latest 10. Returns the count.
redis.register_function('demo_tick', function(keys, args)
  local now = redis.call('TIME')
  local count = redis.call('INCR', keys[1])
  redis.call('LPUSH', keys[2], (args[1] or 'tick') .. ' #' .. count .. ' at ' .. now[1] .. '.' .. string.format('%06d', tonumber(now[2])))
  redis.call('LTRIM', keys[2], 0, 9)
  return count
end)
