-- wrk script for bench/api: GET one pod again and again.
function init(args)
  token = args[1]
  path = args[2]
end

function request()
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end

function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("KT-RESULT requests=%d errors=%d seconds=%.3f p50_us=%d p99_us=%d\n",
    summary.requests, errors, summary.duration / 1e6, latency:percentile(50), latency:percentile(99)))
end
