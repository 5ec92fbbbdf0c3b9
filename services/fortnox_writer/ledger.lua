-- Begin work on one WooCommerce object: detect a Redis that lost its data, take the object's
-- claim, and read its ledger of effects, in one round trip.
-- KEYS[1] epoch   KEYS[2] rebuilt-at   KEYS[3] claim   KEYS[4] ledger hash
-- ARGV[1] epoch this writer knows ('' if none)   ARGV[2] a new epoch value
-- ARGV[3] claim owner   ARGV[4] claim lease ms   ARGV[5] degraded window ms
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local epoch = redis.call('GET', KEYS[1])
local lost = false
if not epoch then
  redis.call('SET', KEYS[1], ARGV[2])
  epoch = ARGV[2]
  lost = ARGV[1] ~= ''
elseif ARGV[1] ~= '' and epoch ~= ARGV[1] then
  lost = true
end
if lost then
  redis.call('SET', KEYS[2], now, 'PX', ARGV[5], 'NX')
end
local rebuilt = redis.call('GET', KEYS[2])
local age = -1
if rebuilt then
  age = now - tonumber(rebuilt)
end
local acquired = redis.call('SET', KEYS[3], ARGV[3], 'NX', 'PX', ARGV[4])
local effects = {}
if acquired then
  effects = redis.call('HGETALL', KEYS[4])
end
return {epoch, age, acquired and 1 or 0, effects}
