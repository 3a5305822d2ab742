-- wrk script for the black-box tests (clients.Wrk): exact counts as one JSON line.
-- Per-thread counters are read back in done() through thread:get(); `response` sees every
-- status, so "non2xx" is exact (wrk's own errors.status only counts >= 400).
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  ok2xx = 0
  non2xx = 0
end
function response(status, headers, body)
  if status >= 200 and status < 300 then ok2xx = ok2xx + 1 else non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local ok, bad = 0, 0
  for _, t in ipairs(threads) do
    ok = ok + t:get("ok2xx")
    bad = bad + t:get("non2xx")
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d, "ok2xx": %d, "non2xx": %d, "duration_us": %d}\n',
    summary.requests, e.connect, e.read, e.write, e.status, e.timeout, ok, bad,
    summary.duration))
end
