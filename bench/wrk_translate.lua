-- wrk script of bench/load_clients.py: one-sentence POST /api/translate requests, cycling through
-- the JSON bodies of a file (one a line), and the answers that are not 200 counted.
--   wrk -t 1 -c 32 -d 12s -s bench/wrk_translate.lua http://127.0.0.1:PORT/ -- BODIES.jsonl [FIRST]
-- done() prints one line, "WRK-RESULT {json}": requests, duration_us, non200, the socket errors
-- (connect, read, write, timeout) and the latency mean_us, p50_us, p99_us.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bodies = {}
  for line in io.lines(args[1]) do
    table.insert(bodies, line)
  end
  nxt = (tonumber(args[2]) or 0) % #bodies + 1
  non200 = 0 -- a global: done() reads it from each thread with thread:get
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local body = bodies[nxt]
  nxt = nxt % #bodies + 1
  return wrk.format("POST", "/api/translate", nil, body)
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
  end
end

function done(summary, latency, requests)
  local non200_all = 0
  for _, thread in ipairs(threads) do
    non200_all = non200_all + thread:get("non200")
  end
  local e = summary.errors
  io.write(string.format(
    'WRK-RESULT {"requests": %d, "duration_us": %d, "non200": %d, "connect": %d, "read": %d, '
      .. '"write": %d, "timeout": %d, "mean_us": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, non200_all, e.connect, e.read, e.write, e.timeout,
    math.floor(latency.mean), latency:percentile(50), latency:percentile(99)
  ))
end
