-- POST $BENCH_PATH, the same request every time: body $BENCH_BODY of type $BENCH_CONTENT_TYPE
-- and cookie header $BENCH_COOKIE, each if set. For the peers' logins and the Express
-- tutorial's /refresh, which keeps no state: the same cookie is good for every request.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local report = require("report")

local prepared = nil

function setup(thread)
  report.setup(thread)
end

function init(args)
  local headers = {}
  local content_type = os.getenv("BENCH_CONTENT_TYPE")
  if content_type ~= nil and content_type ~= "" then
    headers["Content-Type"] = content_type
  end
  local cookie = os.getenv("BENCH_COOKIE")
  if cookie ~= nil and cookie ~= "" then
    headers["Cookie"] = cookie
  end
  prepared = wrk.format("POST", os.getenv("BENCH_PATH"), headers, os.getenv("BENCH_BODY"))
end

function request()
  return prepared
end

-- wrk itself counts every answer above 399 (summary.errors.status).
done = report.done()
