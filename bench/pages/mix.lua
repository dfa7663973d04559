-- wrk: a mix of the site's pages, signed out, one path after the other
-- (the paths are the script's arguments), and util/bench's line at the
-- end (as bench/wrk-report.lua writes it).
local paths = {}
local n = 0

init = function(args)
  for i, p in ipairs(args) do
    paths[i] = p
  end
end

request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1])
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_us=%d p50_us=%d p99_us=%d "
    .. "connect=%d read=%d write=%d status=%d timeout=%d bytes=%d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout, summary.bytes))
end
