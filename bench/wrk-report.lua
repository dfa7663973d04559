-- wrk: one machine-readable line at the end of a run (util/bench reads it).
-- Latencies in microseconds; errors as wrk counts them (socket errors, and
-- "status" for HTTP statuses above 399).
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_us=%d p50_us=%d p99_us=%d "
    .. "connect=%d read=%d write=%d status=%d timeout=%d bytes=%d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout, summary.bytes))
end
