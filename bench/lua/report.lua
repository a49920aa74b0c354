-- Shared by every bench script: thread bookkeeping, reading input files, and a done() that
-- prints one JSON line (prefixed "BENCH_JSON ") for bench/wrk.py to parse.
local M = {}

local threads = {}

-- Called from setup(thread) in the main state; gives each thread a 1-based `id`.
function M.setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
  return #threads
end

-- The non-empty lines of a file named by an environment variable; none when it is unset.
function M.lines(variable)
  local path = os.getenv(variable)
  local out = {}
  if path == nil or path == "" then
    return out
  end
  local file = assert(io.open(path, "r"))
  for line in file:lines() do
    if line ~= "" then
      table.insert(out, line)
    end
  end
  file:close()
  return out
end

-- A function handing out the prepared requests in turn, each thread starting at its own place
-- so that the connections spread over the whole sample. Call it from init(): it reads `id`.
function M.cycle(prepared)
  local position = (id * 7919) % #prepared + 1
  return function()
    local next_one = prepared[position]
    position = position % #prepared + 1
    return next_one
  end
end

local function number(value)
  if value ~= value or value == math.huge or value == -math.huge then
    return "0"
  end
  return string.format("%.3f", value)
end

-- A done() that also sums the per-thread counters named in `counters`.
function M.done(counters)
  return function(summary, latency, requests)
    local errors = summary.errors
    local fields = {
      requests = summary.requests,
      duration_us = summary.duration,
      p50_us = latency:percentile(50),
      p90_us = latency:percentile(90),
      p99_us = latency:percentile(99),
      max_us = latency.max,
      connect = errors.connect,
      read = errors.read,
      write = errors.write,
      timeout = errors.timeout,
      status = errors.status,
    }
    for _, name in ipairs(counters or {}) do
      local total = 0
      for _, thread in ipairs(threads) do
        total = total + (tonumber(thread:get(name)) or 0)
      end
      fields[name] = total
    end
    local parts = {}
    for name, value in pairs(fields) do
      table.insert(parts, string.format('"%s": %s', name, number(value)))
    end
    io.write("BENCH_JSON {" .. table.concat(parts, ", ") .. "}\n")
  end
end

return M
