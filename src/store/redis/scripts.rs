//! The Lua scripts that make each step of a login atomic on Redis (one round
//! trip, no race between replicas).

pub(super) const COMPLETE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'c', ARGV[1], 'ch', ARGV[2], 'o', ARGV[3], 'cf', ARGV[4], 'x', ARGV[5], 'f', 0, 'ok', 0, 'closed', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PUBLISH', ARGV[7], ARGV[8])
return 1
";

/// Shared by confirm and redeem: counts a wrong try, burning the login at the
/// allowance. Returns whether it burnt it.
pub(super) const WRONG_TRY: &str = r"
local function wrong_try(key, max)
  local f = redis.call('HINCRBY', key, 'f', 1)
  if f >= tonumber(max) then
    redis.call('HSET', key, 'closed', 1)
    redis.call('HDEL', key, 'o', 'cf')
    return true
  end
  return false
end
";

pub(super) const CONFIRM: &str = r"
local r = redis.call('HMGET', KEYS[1], 'c', 'cf', 'x', 'closed')
if not r[1] or r[4] == '1' or r[1] ~= ARGV[1] or tonumber(r[3]) <= tonumber(ARGV[3]) then return 'unknown' end
if r[2] == ARGV[2] then
  redis.call('HSET', KEYS[1], 'ok', 1)
  redis.call('PUBLISH', ARGV[5], ARGV[6])
  return 'confirmed'
end
if wrong_try(KEYS[1], ARGV[4]) then
  redis.call('PUBLISH', ARGV[5], ARGV[6])
  return 'burned'
end
return 'wrong'
";

pub(super) const REDEEM: &str = r"
local r = redis.call('HMGET', KEYS[1], 'c', 'ch', 'o', 'ok', 'x', 'closed')
if not r[1] or r[1] ~= ARGV[1] or tonumber(r[5]) <= tonumber(ARGV[3]) then return {'unknown'} end
if r[6] == '1' then return {'closed'} end
if r[2] ~= ARGV[2] then
  if wrong_try(KEYS[1], ARGV[4]) then return {'burned'} end
  return {'wrong'}
end
if r[4] ~= '1' then return {'unconfirmed'} end
redis.call('HSET', KEYS[1], 'closed', 1)
redis.call('HDEL', KEYS[1], 'o', 'cf')
return {'redeemed', r[3]}
";

/// A token bucket: tokens and the time of the last take, refilled per millisecond.
pub(super) const TAKE: &str = r"
local b = redis.call('HMGET', KEYS[1], 't', 'at')
local cap = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local tokens = tonumber(b[1]) or cap
local at = tonumber(b[2]) or now
tokens = math.min(cap, tokens + math.max(0, now - at) * per_ms)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) / per_ms) end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(cap / per_ms) + 60000)
return wait
";

/// A one-time value: `v` until taken, then `used`; `u` its end.
pub(super) const PUT_ONCE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'u', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
";

pub(super) const TAKE_ONCE: &str = r"
local r = redis.call('HMGET', KEYS[1], 'v', 'u', 'used')
if not r[2] then return {'unknown'} end
if r[3] == '1' then return {'used'} end
if tonumber(r[2]) <= tonumber(ARGV[1]) then return {'expired'} end
redis.call('HSET', KEYS[1], 'used', 1)
redis.call('HDEL', KEYS[1], 'v')
return {'taken', r[1]}
";

/// A slot: its holder `h` until `u`.
pub(super) const CLAIM_SLOT: &str = r"
local r = redis.call('HMGET', KEYS[1], 'h', 'u')
local h = r[1]
if h and tonumber(r[2]) <= tonumber(ARGV[4]) then h = false end
local displaced = ''
if h and h ~= ARGV[1] then
  if ARGV[2] ~= '1' then return {'held'} end
  displaced = h
end
redis.call('HSET', KEYS[1], 'h', ARGV[1], 'u', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {'claimed', displaced}
";

pub(super) const RELEASE_SLOT: &str = r"
if redis.call('HGET', KEYS[1], 'h') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
";
