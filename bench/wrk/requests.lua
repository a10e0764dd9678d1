-- wrk script of `npm run bench` (bench/wrk.ts writes its inputs): sends the requests of a file, one per line
-- ("METHOD<TAB>PATH[<TAB>name: value]…"), thread i taking lines i, i+T, … of it, each pre-formatted once.
--   args: requests file, body file ("-": none), mode ("cycle": round and round until the time is up;
--         "once": each line once, then the thread stops)
-- done() prints one line, "WRK_RESULT {json}": the requests, the time, wrk's errors (statuses ≥ 400 among them),
-- each status's count in "once" runs, and the latency histogram (µs → count), so that the bench merges rounds and takes its own percentiles.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock, bench_timespec *ts);
]]
local timespec = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, timespec) -- CLOCK_MONOTONIC
  return tonumber(timespec.tv_sec) * 1000000 + tonumber(timespec.tv_nsec) / 1000
end

local threads = {}
local count = 0

function setup(thread)
  thread:set("index", count)
  count = count + 1
  table.insert(threads, thread)
end

-- per thread (each has its own Lua state)
local formatted = {}
local next_one = 0
local once = false
statuses = {}
first_us = 0
last_us = 0
exhausted = false

local function read_all(path)
  local file = assert(io.open(path, "rb"))
  local text = file:read("*a")
  file:close()
  return text
end

function init(args)
  local body = nil
  if args[2] ~= "-" then body = read_all(args[2]) end
  once = args[3] == "once"
  local total = tonumber(args[4])
  local line_number = 0
  for line in io.lines(args[1]) do
    if line_number % total == index then
      local fields = {}
      for field in string.gmatch(line, "[^\t]+") do table.insert(fields, field) end
      local headers = {}
      for k = 3, #fields do
        local name, value = string.match(fields[k], "^([^:]+): ?(.*)$")
        headers[name] = value
      end
      local method = fields[1]
      table.insert(formatted, wrk.format(method, fields[2], headers, method == "PUT" and body or nil))
    end
    line_number = line_number + 1
  end
end

-- A thread that has sent its share in "once" mode sends this (its answer is never read: the thread stops).
local filler = wrk.format("GET", "/bench-filler")

function request()
  if first_us == 0 then first_us = now_us() end
  next_one = next_one + 1
  if next_one > #formatted then
    if once then
      exhausted = true
      wrk.thread:stop()
      return filler
    end
    next_one = 1
  end
  return formatted[next_one]
end

-- When this function exists wrk copies every answer's headers and body into Lua, which costs wrk ~15-20 µs of CPU
-- per request (measured on the 2-core host: 44-48 µs a request against 27-31 without it; wrk with no script 20-22):
-- enough to make wrk the bottleneck of the ceiling row. So it is there only for "once" runs (BENCH_WRK_STATUSES=1),
-- which need the time of the last answer; elsewhere wrk's own count of statuses ≥ 400 tells the failures.
if os.getenv("BENCH_WRK_STATUSES") == "1" then
  function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
    last_us = now_us()
  end
end

function done(summary, latency, requests)
  local merged = {}
  local first, last, ran_out = nil, 0, false
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do merged[status] = (merged[status] or 0) + n end
    local started = thread:get("first_us")
    if started > 0 and (first == nil or started < first) then first = started end
    last = math.max(last, thread:get("last_us"))
    ran_out = ran_out or thread:get("exhausted")
  end
  local parts = {}
  for status, n in pairs(merged) do table.insert(parts, string.format('"%d":%d', status, n)) end
  local histogram = {}
  for i = 1, #latency do
    local value, n = latency(i)
    table.insert(histogram, string.format("[%d,%d]", value, n))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"durationUs":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"statuses":{%s},"exhausted":%s,"activeUs":%d,"latencyUs":[%s]}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(parts, ","), tostring(ran_out), first and (last - first) or 0, table.concat(histogram, ",")))
end
