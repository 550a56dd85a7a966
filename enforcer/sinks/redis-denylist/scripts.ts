/**
 * The Lua scripts that change the denylist. Each runs atomically on one key (a Cluster-safe
 * single hash slot, thanks to the `{subject}` hash tag of enforcer/denylist/keys.ts) and publishes
 * the change on lg:deny:changes in the same step, so a reader never sees an entry without its
 * message or a message without its entry.
 */

/**
 * SET_ENTRY: write one revocation's entry.
 *   KEYS[1]  the deny key, lg:deny:<kind>:{<subject>}
 *   ARGV[1]  revocation id
 *   ARGV[2]  expiresAtMs, epoch ms (absolute expiry: PEXPIREAT, so a slow call never lengthens it)
 *   ARGV[3]  change channel (lg:deny:changes)
 *   ARGV[4]  change message, JSON {"op":"set","kind","subject","entry"}
 *   ARGV[5..] hash field / value pairs (entryToFields)
 * Returns 1 when written and published; 0 when the same revocation with the same expiry is
 * already there (a replay: nothing published); -1 when another revocation that lasts longer
 * already holds the subject (kept: the stricter one wins; nothing published).
 */
export const SET_ENTRY_LUA = `
local held = redis.call('HMGET', KEYS[1], 'revocationId', 'expiresAtMs')
if held[1] == ARGV[1] and held[2] == ARGV[2] then
  return 0
end
if held[1] and held[1] ~= ARGV[1] and tonumber(held[2]) and tonumber(held[2]) > tonumber(ARGV[2]) then
  return -1
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`;

/**
 * LIFT_ENTRY: remove one revocation's entry, only if it is still the one held.
 *   KEYS[1]  the deny key
 *   ARGV[1]  revocation id
 *   ARGV[2]  change channel
 *   ARGV[3]  change message, JSON {"op":"del","kind","subject"}
 * Returns 1 when removed and published; 0 when the key holds nothing or another revocation.
 */
export const LIFT_ENTRY_LUA = `
if redis.call('HGET', KEYS[1], 'revocationId') ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
`;
