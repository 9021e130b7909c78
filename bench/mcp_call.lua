-- wrk script: an MCP `tools/call` of the same trivial builtin tool on /mcp, as a stateless
-- 2026-07-28 request (no session, no initialize), with the same API key as tools_call.lua.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
wrk.headers["Mcp-Method"] = "tools/call"
wrk.headers["Mcp-Name"] = "uuid"
wrk.headers["X-API-Key"] = os.getenv("BENCH_KEY")
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"uuid","arguments":{},' ..
  '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}'
