--[[
session.lua: atomic session admission for ONE account. Every key carries the account's hash tag
{<accountId>}, so the script runs unchanged on one Redis or a Redis Cluster. The clock is the
caller's (ARGV[2]); the script never reads TIME, so tests inject time and replicas agree.

KEYS[1]  lg:sess:{<accountId>}:active  HASH  sessionId -> JSON {s,l,d,c,g,t}
           s startedAtMs, l lastSeenMs, d deviceId, c contentId, g [groupId...], t tokenHash ('' none)
KEYS[2]  lg:sess:{<accountId>}:ended   HASH  sessionId -> JSON {r = reason, e = endedAtMs}
ARGV[1]  op: 'start' | 'heartbeat' | 'stop'
ARGV[2]  nowMs
ARGV[3]  graceMs: an active session not seen for longer than this is a ghost; it is pruned first
ARGV[4]  keyTtlMs: PEXPIRE of a key whenever it is written; start and stop renew both (idle accounts
         are forgotten; an ended reason, written with its key's renewal, outlives endedRetentionMs)
ARGV[5]  endedRetentionMs: how long an ended session's reason answers its late heartbeats
ARGV[6]  endedMax: most ended reasons kept. At it, a refused unknown id is not remembered (its
         next heartbeat is judged again) and a real session's end replaces a random entry, so
         heartbeats of random ids cannot grow the hash that every start reads whole
ARGV[7]  sessionId
ARGV[8]  start / heartbeat: JSON {s,d,c,g,t} of the session (s: claimed start, re-registration
         only; the caller omits it unless the session id vouches for it, and then it counts from now)
         stop: the reason recorded ('stopped', 'revoked', 'evicted', ...)
ARGV[9]  start / heartbeat: JSON limits {n = streamLimit, p = perTitleLimit (0 none), g = {groupId: limit}}
ARGV[10] start: sessionId to terminate before admitting ('' none)

Semantics: the EARLIEST sessions are honoured. A new start is refused when any limit (stream,
title, group) is full; with a session to terminate, that one ends only if the new one is admitted.
A heartbeat of an unknown session (state lost) re-registers it with its claimed start (the caller
vouches for it; 'now' otherwise): sessions are kept earliest first while they fit every limit, so
it is told to stop when earlier sessions fill one, and evicts only the later sessions that
earliest-first order puts over a limit. So nobody within the limit is ever evicted.

Returns one JSON string; every reply also carries "closed": [{id, r = reason, d, c, t}], the
sessions this call ended (ghosts pruned, terminated, evicted, stopped), so the caller can publish
their stop events. (cjson encodes an empty array as {}.)
  start      {"ok":true,"terminated":b,"pruned":[..]}
           | {"ok":false,"scope":"stream"|"title"|"group:<id>","limit":n,"sessions":[{id,s,l,d,c}],"pruned":[..]}
  heartbeat  {"status":"continue","rec":{..},"reregistered":b,"evicted":[..],"pruned":[..]}
           | {"status":"stop","reason":r,"rec":{..}|absent,"pruned":[..]}
  stop       {"stopped":b,"rec":{..}|absent}
]]
local op = ARGV[1]
local now = tonumber(ARGV[2])
local grace = tonumber(ARGV[3])
local keyTtl = tonumber(ARGV[4])
local endedRetention = tonumber(ARGV[5])
local endedMax = tonumber(ARGV[6])
local id = ARGV[7]

-- Sessions ended by this call (ghosts, terminated, evicted, stopped), for the caller's stop events.
local closed = {}
local function endSession(sid, reason, rec)
  redis.call('HDEL', KEYS[1], sid)
  if redis.call('HLEN', KEYS[2]) >= endedMax then
    -- An id that never held a session (rec nil) has nothing worth keeping: judged again next time.
    if not rec then return end
    local victim = redis.call('HRANDFIELD', KEYS[2])
    if victim then redis.call('HDEL', KEYS[2], victim) end
  end
  redis.call('HSET', KEYS[2], sid, cjson.encode({r = reason, e = now}))
  if rec then closed[#closed + 1] = { id = sid, r = reason, d = rec.d, c = rec.c, t = rec.t } end
end

-- Prune ghosts; collect the live sessions.
local active = {}
local byId = {}
local pruned = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local sid = all[i]
  local rec = cjson.decode(all[i + 1])
  if rec.l + grace < now then
    endSession(sid, 'expired', rec)
    pruned[#pruned + 1] = sid
  else
    local a = { id = sid, rec = rec }
    active[#active + 1] = a
    byId[sid] = a
  end
end

local function touch()
  redis.call('PEXPIRE', KEYS[1], keyTtl)
  redis.call('PEXPIRE', KEYS[2], keyTtl)
end

local function forgetOldEnded()
  local ended = redis.call('HGETALL', KEYS[2])
  for i = 1, #ended, 2 do
    local e = cjson.decode(ended[i + 1])
    if e.e + endedRetention < now then redis.call('HDEL', KEYS[2], ended[i]) end
  end
end

local function later(a, b) -- a started after b (ties broken by id, deterministically)
  if a.rec.s ~= b.rec.s then return a.rec.s > b.rec.s end
  return a.id > b.id
end

local function hasGroup(rec, g)
  if type(rec.g) ~= 'table' then return false end
  for _, x in ipairs(rec.g) do if x == g then return true end end
  return false
end

local function summary()
  local out = {}
  for _, a in ipairs(active) do
    if not a.gone then
      out[#out + 1] = { id = a.id, s = a.rec.s, l = a.rec.l, d = a.rec.d, c = a.rec.c }
    end
  end
  return out
end

-- The limits a candidate ({id, rec}) counts against: the stream limit, its title's, its groups'.
local function scopesFor(cand, limits)
  local scopes = { { name = 'stream', limit = limits.n, match = function() return true end } }
  if limits.p and limits.p > 0 then
    scopes[#scopes + 1] = { name = 'title', limit = limits.p, match = function(r) return r.c == cand.rec.c end }
  end
  if type(cand.rec.g) == 'table' and type(limits.g) == 'table' then
    for _, g in ipairs(cand.rec.g) do
      local gl = limits.g[g]
      if gl then
        scopes[#scopes + 1] = { name = 'group:' .. g, limit = gl, match = function(r) return hasGroup(r, g) end }
      end
    end
  end
  return scopes
end

-- A new start: the first full scope (name, limit), or nil when the candidate fits every limit.
local function findRoom(cand, limits)
  for _, sc in ipairs(scopesFor(cand, limits)) do
    local count = 0
    for _, a in ipairs(active) do
      if not a.gone and sc.match(a.rec) then count = count + 1 end
    end
    if count >= sc.limit then return { name = sc.name, limit = sc.limit } end
  end
  return nil
end

-- A re-registration: the candidate takes its place by start time. Sessions are kept earliest
-- first while they fit every limit; those that started before the candidate always keep theirs,
-- so it is refused (the full scope returned) when they leave it no room. Later sessions that no
-- longer fit are returned to be evicted: only as many, and only those, that earliest-first order
-- puts over a limit. Nothing is written here.
local function fitByStart(cand, limits)
  local scopes = scopesFor(cand, limits)
  local counts = {}
  for i = 1, #scopes do counts[i] = 0 end
  local function fullFor(r)
    for i, sc in ipairs(scopes) do
      if sc.match(r) and counts[i] >= sc.limit then return sc end
    end
    return nil
  end
  local function take(r)
    for i, sc in ipairs(scopes) do
      if sc.match(r) then counts[i] = counts[i] + 1 end
    end
  end
  local order = {}
  for _, a in ipairs(active) do
    if not a.gone then order[#order + 1] = a end
  end
  table.sort(order, function(x, y) return later(y, x) end) -- earliest first
  local placed, evicted = false, {}
  for _, a in ipairs(order) do
    -- A candidate counted from now (late) goes after every session already admitted, whatever
    -- their starts say (another instance's clock may run ahead of the caller's).
    if not placed and not cand.late and later(a, cand) then
      local full = fullFor(cand.rec)
      if full then return { name = full.name, limit = full.limit }, nil end
      take(cand.rec)
      placed = true
    end
    if placed and fullFor(a.rec) then
      evicted[#evicted + 1] = a.id
    else
      take(a.rec)
    end
  end
  if not placed then
    local full = fullFor(cand.rec)
    if full then return { name = full.name, limit = full.limit }, nil end
  end
  return nil, evicted
end

if op == 'start' then
  forgetOldEnded()
  -- Terminate-and-start is one step: the named session ends only if the new one is admitted.
  local term = ARGV[10] ~= '' and byId[ARGV[10]] or nil
  if term then term.gone = true end
  local rec = cjson.decode(ARGV[8])
  rec.s = now
  rec.l = now
  local cand = { id = id, rec = rec }
  local full = findRoom(cand, cjson.decode(ARGV[9]))
  if full then
    if term then term.gone = nil end
    touch()
    return cjson.encode({ ok = false, scope = full.name, limit = full.limit, sessions = summary(),
      pruned = pruned, terminated = false, closed = closed })
  end
  local terminated = false
  if term then
    endSession(term.id, 'terminated', term.rec)
    terminated = true
  end
  redis.call('HSET', KEYS[1], id, cjson.encode(rec))
  touch()
  return cjson.encode({ ok = true, terminated = terminated, pruned = pruned, closed = closed })
end

-- An array as JSON ('[]' when empty: cjson would write {}).
local function jsonArray(t)
  if #t == 0 then return '[]' end
  return cjson.encode(t)
end

if op == 'heartbeat' then
  local a = byId[id]
  if a then
    -- The hot path (most calls): the reply is spliced around the JSON just stored, not re-encoded,
    -- and only the active key's TTL is renewed (the ended key's is renewed whenever it is written).
    a.rec.l = now
    local json = cjson.encode(a.rec)
    redis.call('HSET', KEYS[1], id, json)
    redis.call('PEXPIRE', KEYS[1], keyTtl)
    if #closed > 0 then redis.call('PEXPIRE', KEYS[2], keyTtl) end
    return '{"status":"continue","reregistered":false,"evicted":[],"pruned":' .. jsonArray(pruned) ..
      ',"closed":' .. jsonArray(closed) .. ',"rec":' .. json .. '}'
  end
  local ended = redis.call('HGET', KEYS[2], id)
  if ended then
    touch()
    return cjson.encode({ status = 'stop', reason = cjson.decode(ended).r, pruned = pruned, closed = closed })
  end
  -- Unknown: session state was lost (or never here). Re-register with the claimed start.
  local rec = cjson.decode(ARGV[8])
  if type(rec.d) ~= 'string' or rec.d == '' or type(rec.c) ~= 'string' or rec.c == '' then
    if #closed > 0 then touch() end -- ghosts pruned above wrote ended reasons: give them their TTL
    return cjson.encode({ status = 'stop', reason = 'unknown_session', pruned = pruned, closed = closed })
  end
  local late = type(rec.s) ~= 'number' or rec.s > now
  if late then rec.s = now end
  rec.l = now
  local cand = { id = id, rec = rec, late = late }
  local full, evicted = fitByStart(cand, cjson.decode(ARGV[9]))
  if full then
    endSession(id, 'limit:' .. full.name)
    touch()
    return cjson.encode({ status = 'stop', reason = 'limit:' .. full.name, rec = rec, pruned = pruned, closed = closed })
  end
  for _, e in ipairs(evicted) do endSession(e, 'evicted', byId[e].rec) end
  redis.call('HSET', KEYS[1], id, cjson.encode(rec))
  touch()
  return cjson.encode({ status = 'continue', rec = rec, reregistered = true, evicted = evicted, pruned = pruned,
    closed = closed })
end

if op == 'stop' then
  forgetOldEnded()
  local a = byId[id]
  if not a then
    if #closed > 0 then touch() end -- ghosts pruned above wrote ended reasons: give them their TTL
    return cjson.encode({ stopped = false, closed = closed })
  end
  endSession(id, ARGV[8], a.rec)
  touch()
  return cjson.encode({ stopped = true, rec = a.rec, closed = closed })
end

return redis.error_reply('unknown op ' .. tostring(op))
