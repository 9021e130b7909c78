-- wrk script: POST /api/tools/call of a trivial builtin tool with an API key.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = os.getenv("BENCH_KEY")
wrk.body = '{"name":"uuid","args":{}}'
