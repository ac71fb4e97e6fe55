// The waiting room's state changes, each one Lua script so it is atomic in Redis: a crash between
// two steps cannot lose a place or admit anyone twice. Times come from Redis' clock. Numbers are
// formatted with %.0f: Lua's tostring would write large integers in exponent notation.

/** KEYS waiting, seq, admitted, active · ARGV user → {'admitted', record} | {'waiting', rank, number} */
export const joinScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local user = ARGV[1]
local record = redis.call('HGET', KEYS[3], user)
if record then
  local expires = tonumber(string.match(record, '|(%d+)$'))
  if expires and expires > now then return { 'admitted', record } end
  -- The pass ran out unused: the slot goes back and the user queues again at the end.
  redis.call('HDEL', KEYS[3], user)
  redis.call('ZREM', KEYS[4], user)
end
local rank = redis.call('ZRANK', KEYS[1], user)
if not rank then
  local seq = redis.call('INCR', KEYS[2])
  redis.call('ZADD', KEYS[1], seq, user)
  rank = redis.call('ZRANK', KEYS[1], user)
end
return { 'waiting', rank, redis.call('ZSCORE', KEYS[1], user) }
`;

/**
 * KEYS waiting, active, admitted, admissions, log, served
 * `served` is the highest arrival number admitted so far (the show's progress): since admission takes
 * the waiting list from its head, a waiting user's position is their arrival number minus it.
 * ARGV deadlineMs, maxActive, count, leaseMs, passTtlMs, owner, logMax, jti1..jtiN
 * → {admitted, expired}; admitted = -1 when the deadline has passed (the caller's lease is over).
 */
export const admitScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now > tonumber(ARGV[1]) then return { -1, 0 } end
local maxActive = tonumber(ARGV[2])
local count = tonumber(ARGV[3])
local leaseMs = tonumber(ARGV[4])
local passTtlMs = tonumber(ARGV[5])
local owner = ARGV[6]
local logMax = tonumber(ARGV[7])
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, user in ipairs(expired) do redis.call('HDEL', KEYS[3], user) end
if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) end
local free = maxActive - redis.call('ZCARD', KEYS[2])
local n = math.min(count, free, #ARGV - 7)
if n <= 0 then return { 0, #expired } end
local head = redis.call('ZRANGE', KEYS[1], 0, n - 1, 'WITHSCORES')
local users = {}
for i = 1, #head, 2 do users[#users + 1] = head[i] end
local stamp = string.format('%.0f', now)
for i, user in ipairs(users) do
  local number = redis.call('INCR', KEYS[4])
  redis.call('ZADD', KEYS[2], now + leaseMs, user)
  redis.call('HSET', KEYS[3], user,
    number .. '|' .. ARGV[7 + i] .. '|' .. stamp .. '|' .. string.format('%.0f', now + passTtlMs))
  redis.call('RPUSH', KEYS[5], number .. '|' .. user .. '|' .. owner .. '|' .. stamp)
end
if #users > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, #users - 1)
  redis.call('LTRIM', KEYS[5], -logMax, -1)
  redis.call('SET', KEYS[6], head[#head])
end
return { #users, #expired }
`;

/**
 * KEYS active, admitted · ARGV user, endedAtMs → 1 when a slot was freed.
 * An admission newer than the reservation's end belongs to a later visit and stays.
 */
export const releaseScript = `
local user = ARGV[1]
local record = redis.call('HGET', KEYS[2], user)
if record then
  local admittedAt = tonumber(string.match(record, '^%d+|[^|]+|(%d+)|'))
  if admittedAt and admittedAt > tonumber(ARGV[2]) then return 0 end
  redis.call('HDEL', KEYS[2], user)
end
return redis.call('ZREM', KEYS[1], user)
`;

/**
 * KEYS active, admitted · ARGV user, endedAtMs, jti, passTtlMs, minPassMs
 * → 1 when the user got a fresh pass, 0 when nothing changed, -1 when the slot was freed instead.
 * After a failed booking the visit goes on with a fresh pass (new jti), so the user can book again at
 * once; the slot's lease does not move, so a visit still ends when it would have. An admission newer
 * than the reservation's end belongs to a later visit and stays; the fresh admission is stamped now,
 * so a late copy of the same cancellation cannot renew it twice.
 */
export const renewScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local user = ARGV[1]
local record = redis.call('HGET', KEYS[2], user)
if not record then return 0 end
local number, admittedAt = string.match(record, '^(%d+)|[^|]+|(%d+)|')
if not number then return 0 end
if tonumber(admittedAt) > tonumber(ARGV[2]) then return 0 end
local leaseEnd = tonumber(redis.call('ZSCORE', KEYS[1], user))
local passEnd = now + tonumber(ARGV[4])
if leaseEnd and leaseEnd < passEnd then passEnd = leaseEnd end
if not leaseEnd or passEnd - now < tonumber(ARGV[5]) then
  redis.call('HDEL', KEYS[2], user)
  redis.call('ZREM', KEYS[1], user)
  return -1
end
redis.call('HSET', KEYS[2], user,
  number .. '|' .. ARGV[3] .. '|' .. string.format('%.0f', now) .. '|' .. string.format('%.0f', passEnd))
return 1
`;
