-- wrk script: POST /api/chat with an API key of scope `chat`, each request a new user (so a new
-- conversation: requests of one conversation run one after the other by design).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = os.getenv("BENCH_KEY")

-- BENCH_USERS names the users of this wrk (two wrk at once must not share conversations).
local users = os.getenv("BENCH_USERS") or "load"
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

local n = 0
function request()
  n = n + 1
  return wrk.format(nil, nil, nil,
    string.format('{"message":"hello there","userId":"%s-%d-%d"}', users, id, n))
end
