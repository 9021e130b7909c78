"""`{{ name }}`: a ChatAI Edge extension in Python.

Built by `chatai ext build` with componentize-py {{ componentize_py }} against the WIT in `wit/`
(world `tool-extension`); `chatai ext test {{ tool }} '{"name": "Ada"}'` runs it in the server's
sandbox. `wit_world/` holds the generated bindings, for your editor (componentize-py makes its
own at build time).
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import {% if kv %}host, {% endif %}types

TOOL = "{{ tool }}"

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
            )
        ]

    def call(self, name: str, args: str, ctx: types.CallContext) -> types.CallResult:
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
