-- POST /auth/refresh where every thread (run with one connection each) owns one session: it
-- starts from its own cookie in $BENCH_COOKIES and always sends the newest cookie it was given,
-- so every request is a real rotation. Counted per thread:
--   rotated  200 with a new cookie;
--   grace    200 without Set-Cookie (a replay inside the grace window: not a rotation);
--   refused  anything else.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local report = require("report")

local cookies = nil
local name = os.getenv("BENCH_COOKIE_NAME") or "refresh_token"
-- The name in a pattern, its punctuation escaped: the "-" of "__Host-" is a Lua quantifier.
local name_pattern = name:gsub("%p", "%%%0")
local current = nil
rotated, grace, refused = 0, 0, 0

function setup(thread)
  if cookies == nil then
    cookies = report.lines("BENCH_COOKIES")
  end
  local n = report.setup(thread)
  -- One value only: thread:set reads the top two stack slots, so extra arguments shift them.
  local own = assert(cookies[n], "fewer cookies than threads")
  thread:set("cookie", own)
end

local function build()
  current = wrk.format("POST", "/auth/refresh", {
    Cookie = name .. "=" .. cookie,
    ["X-Requested-With"] = "bench",
  })
end

function init(args)
  build()
end

function request()
  return current
end

function response(status, headers, body)
  if status ~= 200 then
    refused = refused + 1
    return
  end
  local header = headers["set-cookie"] or headers["Set-Cookie"]
  local value = header and header:match("^" .. name_pattern .. "=([^;]+)")
  if value == nil then
    grace = grace + 1
    return
  end
  rotated = rotated + 1
  cookie = value
  build()
end

done = report.done({ "rotated", "grace", "refused" })
