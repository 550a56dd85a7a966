--[[
leechguard.lua: an OpenResty (nginx + LuaJIT) edge check that reads leechguard's Redis denylist
directly, following the key scheme of enforcer/denylist/keys.ts:

  lg:deny:token:{<tokenHash>}    HASH  action, reason, rule, revocationId, expiresAtMs, issuedAtMs,
  lg:deny:session:{<sessionId>}        slate, throttleKbps   (TTL = expiry)
  lg:deny:account:{<accountId>}

tokenHash = hex HMAC-SHA256(secret of a key id, raw token), tried under every active key id
(core/token-hash.ts) so a key rotation never lets a revoked token through.
Answers are cached in a lua_shared_dict for CACHE_TTL_S (the staleness bound of this edge).

Usage (nginx.conf):  access_by_lua_block { require("leechguard").check() }
]]
local redis = require "resty.redis"
local sha256 = require "resty.sha256"
local str = require "resty.string"
local cjson = require "cjson.safe"
local bit = require "bit"

local _M = {}

-- Configuration: from the environment of the nginx master (declare with `env` in nginx.conf).
local REDIS_HOST = os.getenv("LEECHGUARD_REDIS_HOST") or "127.0.0.1"
local REDIS_PORT = tonumber(os.getenv("LEECHGUARD_REDIS_PORT") or "6379")
local FAIL_MODE = os.getenv("LEECHGUARD_FAIL_MODE") or "open" -- "open" allows, "closed" blocks
local TIMEOUT_MS = 20    -- a Redis read slower than this answers with FAIL_MODE
local CACHE_TTL_S = 1    -- a revocation or lift reaches this edge within 1 s
-- Token hashing keys, "keyId=secret,keyId=secret" (current first); keep retired keys until expiry.
local HASH_KEYS = {}
for id, secret in string.gmatch(os.getenv("LEECHGUARD_TOKEN_KEYS") or "", "([^=,]+)=([^,]+)") do
  HASH_KEYS[#HASH_KEYS + 1] = { id = id, secret = secret }
end

-- HMAC-SHA256 (RFC 2104) over resty.sha256, which ships with OpenResty.
local function hmac_sha256_hex(key, msg)
  if #key > 64 then
    local h = sha256:new(); h:update(key); key = h:final()
  end
  key = key .. string.rep("\0", 64 - #key)
  local ipad = key:gsub(".", function(c) return string.char(bit.bxor(c:byte(), 0x36)) end)
  local opad = key:gsub(".", function(c) return string.char(bit.bxor(c:byte(), 0x5c)) end)
  local inner = sha256:new(); inner:update(ipad); inner:update(msg)
  local outer = sha256:new(); outer:update(opad); outer:update(inner:final())
  return str.to_hex(outer:final())
end

local FIELDS = { "action", "reason", "rule", "revocationId", "expiresAtMs", "slate", "throttleKbps" }
local SEVERITY = { throttle = 1, substitute = 2, block_token = 3, evict_session = 3, block_account = 3 }
-- An action this edge does not know is treated as a block (as the Node client does).
local function sev(action) return SEVERITY[action] or 3 end

-- Reads the given denylist keys in one round trip; returns the most severe live entry or nil.
-- Returns false, err when Redis cannot be read.
local function lookup(keys)
  local cache = ngx.shared.leechguard
  local now_ms = ngx.now() * 1000
  local best, missing = nil, {}
  for _, key in ipairs(keys) do
    local cached = cache:get(key)
    if cached == nil then
      missing[#missing + 1] = key
    elseif cached ~= "" then
      local e = cjson.decode(cached)
      if e and tonumber(e.expiresAtMs) > now_ms and (not best or sev(e.action) > sev(best.action)) then best = e end
    end
  end
  if #missing == 0 then return best end

  local red = redis:new()
  red:set_timeouts(TIMEOUT_MS, TIMEOUT_MS, TIMEOUT_MS)
  local ok, err = red:connect(REDIS_HOST, REDIS_PORT)
  if not ok then return false, err end
  red:init_pipeline(#missing)
  for _, key in ipairs(missing) do red:hmget(key, unpack(FIELDS)) end
  local replies, perr = red:commit_pipeline()
  if not replies then return false, perr end
  red:set_keepalive(10000, 64)

  for i, key in ipairs(missing) do
    local r = replies[i]
    local e = nil
    if type(r) == "table" and r[1] ~= ngx.null and r[5] ~= ngx.null and tonumber(r[5]) > now_ms then
      e = {}
      for j, f in ipairs(FIELDS) do e[f] = r[j] ~= ngx.null and r[j] or "" end
    end
    -- Cache the answer (an empty string means "not denied") for at most CACHE_TTL_S.
    cache:set(key, e and cjson.encode(e) or "", CACHE_TTL_S)
    if e and (not best or sev(e.action) > sev(best.action)) then best = e end
  end
  return best
end

-- The CMCD session id (sid) from the CMCD query parameter, when the player sends one.
local function cmcd_sid()
  local cmcd = ngx.var.arg_CMCD
  if not cmcd then return nil end
  return ngx.unescape_uri(cmcd):match('sid="([^"]+)"')
end

function _M.check()
  local keys = {}
  local token = ngx.var.arg_token                        -- adapt to where your tokens travel
  if token then
    for _, k in ipairs(HASH_KEYS) do
      keys[#keys + 1] = "lg:deny:token:{" .. hmac_sha256_hex(k.secret, token) .. "}"
    end
  end
  local sid = cmcd_sid()
  if sid then keys[#keys + 1] = "lg:deny:session:{" .. sid .. "}" end
  local account = ngx.var.http_x_account_id              -- set by your auth layer, if any
  if account then keys[#keys + 1] = "lg:deny:account:{" .. account .. "}" end
  if #keys == 0 then return end

  local e, err = lookup(keys)
  if e == false then
    ngx.log(ngx.WARN, "leechguard: denylist unreadable (", err, "); fail-", FAIL_MODE)
    if FAIL_MODE == "closed" then return ngx.exit(ngx.HTTP_FORBIDDEN) end
    return
  end
  if not e then return end
  ngx.header["X-Leechguard-Revocation"] = e.revocationId
  if e.action == "throttle" and tonumber(e.throttleKbps) then
    ngx.var.limit_rate = tonumber(e.throttleKbps) * 125 -- kbps to bytes/s
  elseif e.action == "substitute" and e.slate ~= "" then
    return ngx.exec("/slates/" .. ngx.escape_uri(e.slate) .. ".m3u8")
  else
    return ngx.exit(ngx.HTTP_FORBIDDEN)
  end
end

return _M
