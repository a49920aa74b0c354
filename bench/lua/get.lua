-- GET $BENCH_PATH, cycling through the Bearer tokens in $BENCH_TOKENS (one per line), if any.
-- With $BENCH_PAUSE_MS, each connection waits that long after an answer before its next
-- request: a steady load below what the server can take, instead of as much as it can.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local report = require("report")

local prepared = {}
local next_request = nil

function setup(thread)
  report.setup(thread)
end

function init(args)
  local path = os.getenv("BENCH_PATH") or "/"
  local tokens = report.lines("BENCH_TOKENS")
  if #tokens == 0 then
    prepared[1] = wrk.format("GET", path)
  end
  for i, token in ipairs(tokens) do
    prepared[i] = wrk.format("GET", path, { Authorization = "Bearer " .. token })
  end
  next_request = report.cycle(prepared)
end

-- Requests are formatted once in init(); this only picks the next one. (Defined here, not in
-- init(): wrk looks for request() in the main state to know the requests are dynamic.)
function request()
  return next_request()
end

-- Defined only when asked for: wrk paces every request of a script that has delay().
local pause_ms = tonumber(os.getenv("BENCH_PAUSE_MS") or "")
if pause_ms ~= nil then
  function delay()
    return pause_ms
  end
end

done = report.done()
