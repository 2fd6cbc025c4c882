-- wrk script for bench/api: POST pods with names unique across wrk's threads.
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  token = args[1]
  ns = args[2]
end

function request()
  counter = counter + 1
  local body = '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"w' .. tid .. '-' .. counter ..
    '","labels":{"app":"bench"}},"spec":{"containers":[{"name":"c","image":"nginx:1.22","resources":{"requests":{"cpu":"100m"}}}]}}'
  return wrk.format("POST", "/api/v1/namespaces/" .. ns .. "/pods",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end

function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("KT-RESULT requests=%d errors=%d seconds=%.3f p50_us=%d p99_us=%d\n",
    summary.requests, errors, summary.duration / 1e6, latency:percentile(50), latency:percentile(99)))
end
