-- Sliding-log rate limiter, one log per (Fortnox client, tenant), on the Redis server's clock so
-- every writer replica agrees. Returns 0 when a slot was taken, else milliseconds to wait.
-- KEYS[1] log (sorted set: member per request, scored by when it may last reach Fortnox, ms)
-- KEYS[2] block key (set after a 429)   KEYS[3] limiter epoch   KEYS[4] block of every tenant
-- ARGV[1] limit   ARGV[2] window ms   ARGV[3] unique member   ARGV[4] hold ms   ARGV[5] grace ms
-- A granted request is scored `now + hold` (the latest it can still reach Fortnox: its caller
-- gives up on it by then) until the caller settles it with the time it was answered. Fortnox
-- counts a request when it arrives, which is after the grant and before the answer, so a request
-- that reaches Fortnox late (a starved event loop, a slow network) is still in the log when it
-- is counted there: the log can never see fewer requests in a window than Fortnox does.
-- A missing epoch means Redis lost the logs (or this is the first request ever): what was sent
-- is unknown, so nobody sends for one whole window plus a grace for requests granted before the
-- loss that have not reached Fortnox yet (ARGV[5] ms).
if redis.call('EXISTS', KEYS[3]) == 0 then
  redis.call('SET', KEYS[3], '1')
  redis.call('SET', KEYS[4], '1', 'PX', tonumber(ARGV[2]) + tonumber(ARGV[5]))
end
local all = redis.call('PTTL', KEYS[4])
if all > 0 then
  return all
end
local blocked = redis.call('PTTL', KEYS[2])
if blocked > 0 then
  return blocked
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window + tonumber(ARGV[4]))
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now + 1)
