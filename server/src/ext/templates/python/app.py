"""`{{ name }}`: a ChatAI Edge extension in Python.

Built by `chatai ext build` with componentize-py {{ componentize_py }} against the WIT in `wit/`
(world `{{ world }}`); `chatai ext test {{ tool }} '{"name": "Ada"}'` runs it in the server's
sandbox. `wit_world/` holds the generated bindings, for your editor (componentize-py makes its
own at build time).
"""

import json
{%- if http %}
from urllib.parse import urlsplit
{%- endif %}

from componentize_py_types import Err
from wit_world import exports
{%- if http %}
from wit_world.imports import chatai_extension_types as types
{%- if kv %}
from wit_world.imports import host
{%- endif %}
from wit_world.imports import outgoing_handler, streams
from wit_world.imports import wasi_http_types as http
{%- else %}
from wit_world.imports import {% if kv %}host, {% endif %}types
{%- endif %}

TOOL = "{{ tool }}"
{%- if http %}
FETCH_TOOL = "{{ fetch_tool }}"
ORIGIN = "{{ http }}"
{%- endif %}

# The arguments' JSON Schema: the server validates every call against it before the tool runs.
SCHEMA = {
    "type": "object",
    "properties": {
        "name": {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "description": "Who to greet.",
            "examples": ["Ada"],
        },
        "times": {
            "type": "integer",
            "minimum": 1,
            "maximum": 5,
            "default": 1,
            "description": "How many times (1 to 5).",
        },
    },
    "required": ["name"],
    "additionalProperties": False,
}


def greeting(name: str, times: int) -> str:
    return " ".join([f"Hello, {name}!"] * times)
{% if kv %}

def count_call() -> int:
    """Adds one to the counter kept in the extension's kv bucket.

    `host.kv_get` returns bytes or None and raises `Err(message)` when the host refuses (no
    grant yet: the message says how to grant it).
    """
    stored = host.kv_get("calls")
    calls = (int(stored.decode()) if stored is not None else 0) + 1
    host.kv_set("calls", str(calls).encode())
    return calls
{% endif %}

{% if http %}
FETCH_SCHEMA = {
    "type": "object",
    "properties": {
        "path": {"type": "string", "description": "A path on {{ http }}, e.g. `/`.", "examples": ["/"]},
    },
    "required": ["path"],
    "additionalProperties": False,
}


def get(url: str) -> tuple[int, bytes]:
    """`GET url` through the host's wasi:http (the origin must be granted): status and body."""
    parts = urlsplit(url)
    request = http.OutgoingRequest(http.Fields())
    request.set_scheme(http.Scheme_Https() if parts.scheme == "https" else http.Scheme_Http())
    request.set_authority(parts.netloc)
    request.set_path_with_query((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
    pending = outgoing_handler.handle(request, None)
    pending.subscribe().block()
    answer = pending.get()
    if answer is None or isinstance(answer, Err) or isinstance(answer.value, Err):
        refused = answer.value.value if answer is not None and not isinstance(answer, Err) else answer
        raise Err(types.ToolError_Failed(f"{url}: {refused}"))
    response = answer.value.value
    status = response.status()
    incoming = response.consume()  # must outlive its stream
    stream = incoming.stream()
    body = b""
    while True:
        try:
            body += stream.blocking_read(64 * 1024)
        except Err as ended:
            if isinstance(ended.value, streams.StreamError_Closed):
                return status, body
            raise Err(types.ToolError_Failed(f"{url}: reading the body failed"))


def fetch(args: dict) -> types.CallResult:
    url = ORIGIN + args["path"]
    status, body = get(url)
    return types.CallResult(
        content=[types.Content_Text(f"{url} answered {status} with {len(body)} bytes")],
        structured=json.dumps({"status": status, "bytes": len(body)}),
    )

{% endif %}
class Tool(exports.Tool):
    def list_tools(self) -> list[types.ToolSpec]:
        return [
            types.ToolSpec(
                name=TOOL,
                description="Greets someone{% if kv %} and counts the calls{% endif %}",
                input_schema=json.dumps(SCHEMA),
                output_schema=None,
                category=None,
                dangerous=False,
            ),
{%- if http %}
            types.ToolSpec(
                name=FETCH_TOOL,
                description="Fetches a path of {{ http }}",
                input_schema=json.dumps(FETCH_SCHEMA),
                output_schema=None,
                category=None,
                dangerous=False,
            ),
{%- endif %}
        ]

    def call(self, name: str, args: str, ctx: types.CallContext) -> types.CallResult:
{%- if http %}
        if name == FETCH_TOOL:
            return fetch(json.loads(args))
{%- endif %}
        if name != TOOL:
            raise Err(types.ToolError_NotFound(name))
        args = json.loads(args)
        text = greeting(args["name"], args.get("times", 1))
        structured = {"greeting": text}
{%- if kv %}
        try:
            calls = count_call()
        except Err as refused:
            raise Err(types.ToolError_Denied(str(refused.value)))
        structured["calls"] = calls
        text = f"{text} (call {calls})"
{%- endif %}
        return types.CallResult(
            content=[types.Content_Text(text)],
            structured=json.dumps(structured),
        )
