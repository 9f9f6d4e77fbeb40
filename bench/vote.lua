-- wrk script: POST /api/vote {"vote": "a"} as a fresh random voter on every request, then print
-- one JSON line (prefix WRKJSON) with the totals and latency percentiles for bench/ingest.py.
wrk.method = "POST"
wrk.path = "/api/vote"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"vote": "a"}'

local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end

local hex = "0123456789abcdef"
function init(args)
  math.randomseed(os.time() * 1000 + (tid or 0))
end

function request()
  local t = {}
  for i = 1, 32 do
    local n = math.random(1, 16)
    t[i] = hex:sub(n, n)
  end
  wrk.headers["Cookie"] = "voter_id=" .. table.concat(t)
  return wrk.format()
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
