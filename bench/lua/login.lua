-- POST /auth/login as the users in $BENCH_USERS (one name per line), all with $BENCH_PASSWORD.
-- Consecutive requests name different users, as a crowd of people signing in would.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local report = require("report")

local prepared = {}
local next_request = nil
ok = 0

function setup(thread)
  report.setup(thread)
end

function init(args)
  local password = os.getenv("BENCH_PASSWORD")
  local headers = { ["Content-Type"] = "application/json" }
  for i, name in ipairs(report.lines("BENCH_USERS")) do
    local body = string.format('{"username": "%s", "password": "%s"}', name, password)
    prepared[i] = wrk.format("POST", "/auth/login", headers, body)
  end
  next_request = report.cycle(prepared)
end

function request()
  return next_request()
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
  end
end

done = report.done({ "ok" })
