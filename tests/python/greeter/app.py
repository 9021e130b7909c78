"""A chatai extension written in Python (componentize-py, against wit/v0.1.0).

One tool, `py_greet`: greets `name` and reports the length of the greeting.
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import types


class Tool(exports.Tool):
    def list_tools(self) -> list[types.ToolSpec]:
        schema = {
            "type": "object",
            "properties": {"name": {"type": "string", "minLength": 1}},
            "required": ["name"],
            "additionalProperties": False,
        }
        return [
            types.ToolSpec(
                name="py_greet",
                description="Greets someone (a tool written in Python)",
                input_schema=json.dumps(schema),
                output_schema=None,
                category="fixture",
                dangerous=False,
            )
        ]

    def call(self, name: str, args: str, ctx: types.CallContext) -> types.CallResult:
        if name != "py_greet":
            raise Err(types.ToolError_NotFound(name))
        greeting = "Hello, " + json.loads(args)["name"] + "! (from Python)"
        return types.CallResult(
            content=[types.Content_Text(greeting)],
            structured=json.dumps({"greeting": greeting, "length": len(greeting)}),
        )
