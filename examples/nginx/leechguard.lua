--[[
leechguard.lua: an nginx edge check (ngx_http_lua_module: OpenResty, or stock nginx with Debian's
libnginx-mod-http-lua) that reads leechguard's Redis denylist directly, following the key scheme
of enforcer/denylist/keys.ts:

  lg:deny:token:{<tokenHash>}    HASH  action, reason, rule, revocationId, expiresAtMs, issuedAtMs,
  lg:deny:session:{<sessionId>}        slate, throttleKbps   (TTL = expiry)
  lg:deny:account:{<accountId>}

tokenHash = hex HMAC-SHA256(secret of a key id, raw token), tried under every active key id
(core/token-hash.ts) so a key rotation never lets a revoked token through.
Answers are cached in a lua_shared_dict for CACHE_TTL_S (the staleness bound of this edge).

Needs nothing beyond ngx_http_lua_module itself: Redis is spoken over a cosocket (RESP, a few
lines below) and HMAC-SHA256 comes from the OpenSSL that nginx is linked with, through LuaJIT's
FFI. test/integration/edge/nginx-example.test.ts runs this file in a real nginx against Redis.

Usage (nginx.conf):  access_by_lua_block { require("leechguard").check() }
]]
local ffi = require "ffi"

local _M = {}

-- Configuration: from the environment of the nginx master (declare with `env` in nginx.conf).
local REDIS_HOST = os.getenv("LEECHGUARD_REDIS_HOST") or "127.0.0.1"
local REDIS_PORT = tonumber(os.getenv("LEECHGUARD_REDIS_PORT") or "6379")
local REDIS_PASSWORD = os.getenv("LEECHGUARD_REDIS_PASSWORD") -- AUTH on each new connection
local FAIL_MODE = os.getenv("LEECHGUARD_FAIL_MODE") or "open" -- "open" allows, "closed" blocks
-- A Redis read slower than this answers with FAIL_MODE.
local TIMEOUT_MS = tonumber(os.getenv("LEECHGUARD_REDIS_TIMEOUT_MS") or "20")
local CACHE_TTL_S = 1    -- a revocation or lift reaches this edge within 1 s
-- Token hashing keys, "keyId=secret,keyId=secret" (current first); keep retired keys until expiry.
local HASH_KEYS = {}
for id, secret in string.gmatch(os.getenv("LEECHGUARD_TOKEN_KEYS") or "", "([^=,]+)=([^,]+)") do
  HASH_KEYS[#HASH_KEYS + 1] = { id = id, secret = secret }
end

-- HMAC-SHA256 from libcrypto (already in the nginx process; loaded by name where it is not).
-- One pcall per declaration: another module may have declared some of these C names first.
pcall(ffi.cdef, "typedef struct evp_md_st EVP_MD;")
pcall(ffi.cdef, "const EVP_MD *EVP_sha256(void);")
pcall(ffi.cdef, [[unsigned char *HMAC(const EVP_MD *evp_md, const void *key, int key_len,
  const unsigned char *d, size_t n, unsigned char *md, unsigned int *md_len);]])
local crypto = ffi.C
if not pcall(function() return crypto.HMAC end) then
  local ok, lib = pcall(ffi.load, "libcrypto.so.3")
  crypto = ok and lib or ffi.load("crypto")
end
local md_buf = ffi.new("unsigned char[32]")
local md_len = ffi.new("unsigned int[1]")

local function hmac_sha256_hex(key, msg)
  if crypto.HMAC(crypto.EVP_sha256(), key, #key, msg, #msg, md_buf, md_len) == nil then
    error("leechguard: HMAC-SHA256 failed")
  end
  local digest = ffi.string(md_buf, md_len[0])
  return (digest:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- A minimal RESP client over an nginx cosocket: enough for AUTH and pipelined HMGETs.
local function resp_command(args)
  local out = { "*" .. #args .. "\r\n" }
  for _, a in ipairs(args) do out[#out + 1] = "$" .. #a .. "\r\n" .. a .. "\r\n" end
  return table.concat(out)
end

-- Reads one reply: a string, integer, ngx.null, or an array of those; nil, err on an error.
local function read_reply(sock)
  local line, err = sock:receive("*l")
  if not line then return nil, err end
  local kind, rest = line:sub(1, 1), line:sub(2)
  local n = tonumber(rest)
  if kind == "$" then
    if not n then return nil, "redis: bad bulk length" end
    if n < 0 then return ngx.null end
    local data, derr = sock:receive(n + 2)
    if not data then return nil, derr end
    return data:sub(1, n)
  elseif kind == "*" then
    if not n then return nil, "redis: bad array length" end
    if n < 0 then return ngx.null end
    local arr = {}
    for i = 1, n do
      local v, verr = read_reply(sock)
      if v == nil then return nil, verr end
      arr[i] = v
    end
    return arr
  elseif kind == ":" and n then
    return n
  elseif kind == "+" then
    return rest
  end
  return nil, "redis: " .. rest -- "-ERR …", or a reply this client does not speak
end

-- Sends every command in one write and reads the replies in order.
local function redis_pipeline(commands)
  local sock = ngx.socket.tcp()
  sock:settimeouts(TIMEOUT_MS, TIMEOUT_MS, TIMEOUT_MS)
  -- A pool of its own: a connection another module authenticated differently is never reused here.
  local ok, err = sock:connect(REDIS_HOST, REDIS_PORT, { pool = "leechguard:" .. REDIS_HOST .. ":" .. REDIS_PORT })
  if not ok then return nil, err end
  local payload = {}
  if REDIS_PASSWORD and sock:getreusedtimes() == 0 then
    payload[1] = resp_command({ "AUTH", REDIS_PASSWORD })
  end
  for _, c in ipairs(commands) do payload[#payload + 1] = resp_command(c) end
  local _, serr = sock:send(table.concat(payload))
  if serr then sock:close(); return nil, serr end
  if #payload > #commands then
    local auth, aerr = read_reply(sock)
    if auth == nil then sock:close(); return nil, aerr end
  end
  local replies = {}
  for i = 1, #commands do
    local r, rerr = read_reply(sock)
    if r == nil then sock:close(); return nil, rerr end
    replies[i] = r
  end
  sock:setkeepalive(10000, 64)
  return replies
end

-- What the edge acts on (reason and rule stay in Redis). Index 3 is the expiry.
local FIELDS = { "action", "revocationId", "expiresAtMs", "slate", "throttleKbps" }
local EXPIRES = 3
local SEP = "\31" -- cached entries are the FIELDS values joined by the ASCII unit separator
local SEVERITY = { throttle = 1, substitute = 2, block_token = 3, evict_session = 3, block_account = 3 }
-- An action this edge does not know is treated as a block (as the Node client does).
local function sev(action) return SEVERITY[action] or 3 end
-- The more severe of two entries (either may be nil); the first wins a tie.
local function worse(best, e)
  if e and (not best or sev(e.action) > sev(best.action)) then return e end
  return best
end

local function decode(cached)
  local e, i = {}, 1
  for v in (cached .. SEP):gmatch("(.-)" .. SEP) do e[FIELDS[i]] = v; i = i + 1 end
  return e
end

-- nil when a value holds the separator: such an entry is acted on but not cached.
local function encode(e)
  local vals = {}
  for j, f in ipairs(FIELDS) do
    if e[f]:find(SEP, 1, true) then return nil end
    vals[j] = e[f]
  end
  return table.concat(vals, SEP)
end

-- Reads the given denylist keys (those not cached) in one round trip; returns the most severe live
-- entry or nil, and an error when Redis cannot be read (with what the cache already knew).
-- Deny entries and "not denied" answers live in separate dicts: the keys come from client-chosen
-- values (token, sid, account), so a flood of made-up ones fills only the not-denied dict (least
-- recently used evicted there) and never pushes a deny entry out; the deny dict holds only what
-- Redis has, which clients cannot write.
local function lookup(keys)
  local cache = ngx.shared.leechguard
  local clear = ngx.shared.leechguard_clear
  local now_ms = ngx.now() * 1000
  local best, missing = nil, {}
  for _, key in ipairs(keys) do
    local cached = cache:get(key)
    if cached == nil and clear:get(key) then cached = "" end
    if cached == nil then
      missing[#missing + 1] = key
    elseif cached ~= "" then
      local e = decode(cached)
      if (tonumber(e.expiresAtMs) or 0) > now_ms then best = worse(best, e) end
    end
  end
  if #missing == 0 then return best end

  local commands = {}
  for i, key in ipairs(missing) do commands[i] = { "HMGET", key, unpack(FIELDS) } end
  local replies, err = redis_pipeline(commands)
  if not replies then return best, err end

  for i, key in ipairs(missing) do
    local r = replies[i]
    local e = nil
    -- An entry needs an action and an expiry still ahead (Redis drops it by TTL as well).
    if type(r) == "table" and r[1] ~= ngx.null and (tonumber(r[EXPIRES]) or 0) > now_ms then
      e = {}
      for j, f in ipairs(FIELDS) do e[f] = r[j] ~= ngx.null and r[j] or "" end
    end
    -- Cache the answer for at most CACHE_TTL_S (a deny entry whose values hold the separator is not).
    if e then
      local cached = encode(e)
      if cached then cache:set(key, cached, CACHE_TTL_S) end
    else
      clear:set(key, true, CACHE_TTL_S)
    end
    best = worse(best, e)
  end
  return best
end

local CMCD_STRING_UNITS_MAX = 256 -- ingest keeps the first 256 UTF-16 units of a CMCD string

local function trim(s)
  return s:match("^%s*(.-)%s*$")
end

-- The longest prefix of UTF-8 text `s` that is at most `max` UTF-16 units (what a JavaScript
-- `slice(0, max)` keeps, a 4-byte character counting two), cut between characters.
local function utf16_prefix(s, max)
  local units, i, n = 0, 1, #s
  while i <= n do
    local b = s:byte(i)
    local len = b < 0x80 and 1 or b < 0xE0 and 2 or b < 0xF0 and 3 or 4
    local u = len == 4 and 2 or 1
    if units + u > max then return s:sub(1, i - 1) end
    units = units + u
    i = i + len
  end
  return s
end

-- The sid of CMCD text, read as ingest reads it (ingest/transforms/enrich/cmcd.ts parseCmcdText),
-- so the key looked up is the one the enforcer wrote from ingest's sid: keys run to '=' or ',';
-- a quoted value ends at the first unescaped '"' (a backslash escapes the next character, so a
-- quoted ',' or 'sid=' inside another key's value is not a key); the last non-empty sid wins.
local function parse_cmcd_sid(text)
  local sid
  local i, n = 1, #text
  while i <= n do
    local j = text:find("[=,]", i) or n + 1
    local key = trim(text:sub(i, j - 1))
    if j > n or text:byte(j) == 44 then -- ',' : a bare key (boolean)
      i = j + 1
    else
      j = j + 1
      local value
      if text:byte(j) == 34 then -- '"'
        local parts, k = {}, j + 1
        while k <= n and text:byte(k) ~= 34 do
          if text:byte(k) == 92 and k < n then k = k + 1 end -- '\\' escapes the next character
          parts[#parts + 1] = text:sub(k, k)
          k = k + 1
        end
        value = table.concat(parts)
        j = text:find(",", k + 1, true) or n + 1
      else
        local k = text:find(",", j, true) or n + 1
        value = trim(text:sub(j, k - 1))
        j = k
      end
      if key == "sid" and value ~= "" then sid = utf16_prefix(value, CMCD_STRING_UNITS_MAX) end
      i = j + 1
    end
  end
  return sid
end

-- The CMCD session id (sid), in ingest's order (ingest/transforms/enrich/cmcd.ts collectCmcd):
-- the CMCD query parameter, then the CMCD-Object, -Request, -Session and -Status headers; the
-- last sid found wins.
local CMCD_HEADER_VARS = { "http_cmcd_object", "http_cmcd_request", "http_cmcd_session", "http_cmcd_status" }
local function cmcd_sid()
  local sid
  local query = ngx.var.arg_CMCD
  if query then sid = parse_cmcd_sid(ngx.unescape_uri(query)) end
  for _, var in ipairs(CMCD_HEADER_VARS) do
    local text = ngx.var[var]
    if text then sid = parse_cmcd_sid(text) or sid end
  end
  return sid
end

local warned_no_keys = false

function _M.check()
  local keys = {}
  local token = ngx.var.arg_token                        -- adapt to where your tokens travel
  if token and #HASH_KEYS == 0 and not warned_no_keys then
    warned_no_keys = true -- once per worker: tokens are not checked at all
    ngx.log(ngx.WARN, "leechguard: LEECHGUARD_TOKEN_KEYS is empty; tokens are not checked")
  end
  if token then
    token = ngx.unescape_uri(token)
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
  if err then
    ngx.log(ngx.WARN, "leechguard: denylist unreadable (", err, "); fail-", FAIL_MODE)
    if FAIL_MODE == "closed" then return ngx.exit(ngx.HTTP_FORBIDDEN) end
    -- fail-open still applies what this edge already knew (a cached entry of another subject).
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
