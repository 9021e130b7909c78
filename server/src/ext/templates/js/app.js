// `{{ name }}`: a ChatAI Edge extension in JavaScript.
//
// Built by `chatai ext build` with componentize-js {{ componentize_js }} (`npm install` fetches it)
// against the WIT in `wit/` (world `tool-extension`); `chatai ext test {{ tool }} '{"name": "Ada"}'`
// runs it in the server's sandbox.
{% if kv %}
import { kvGet, kvSet } from 'chatai:extension/host@0.1.0';
{% endif %}
const TOOL = '{{ tool }}';

// The arguments' JSON Schema: the server validates every call against it before the tool runs.
const SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 64, description: 'Who to greet.', examples: ['Ada'] },
    times: { type: 'integer', minimum: 1, maximum: 5, default: 1, description: 'How many times (1 to 5).' },
  },
  required: ['name'],
  additionalProperties: false,
};

function greeting(name, times) {
  return Array(times).fill(`Hello, ${name}!`).join(' ');
}
{% if kv %}
// Adds one to the counter kept in the extension's kv bucket. `kvGet` returns a Uint8Array or
// undefined and throws when the host refuses (no grant yet: the message says how to grant it).
function countCall() {
  const stored = kvGet('calls');
  const calls = (stored === undefined ? 0 : Number(new TextDecoder().decode(stored))) + 1;
  kvSet('calls', new TextEncoder().encode(String(calls)));
  return calls;
}
{% endif %}
{%- if http %}
const FETCH_TOOL = '{{ fetch_tool }}';
const FETCH_SCHEMA = {
  type: 'object',
  properties: { path: { type: 'string', description: 'A path on {{ http }}, e.g. `/`.', examples: ['/'] } },
  required: ['path'],
  additionalProperties: false,
};

// `fetch` reaches the origins the admin granted (the host checks every request and redirect).
async function fetchPath(args) {
  const url = '{{ http }}' + JSON.parse(args).path;
  let response, body;
  try {
    response = await fetch(url);
    body = await response.arrayBuffer();
  } catch (err) {
    throw { tag: 'failed', val: `${url}: ${err}` };
  }
  const text = `${url} answered ${response.status} with ${body.byteLength} bytes`;
  return {
    content: [{ tag: 'text', val: text }],
    structured: JSON.stringify({ status: response.status, bytes: body.byteLength }),
  };
}
{% endif %}
// A thrown `{ tag, val }` is the tool's error (`invalid-args`, `not-found`, `denied`, `failed`).
export const tool = {
  listTools() {
    return [{
      name: TOOL,
      description: 'Greets someone{% if kv %} and counts the calls{% endif %}',
      inputSchema: JSON.stringify(SCHEMA),
      outputSchema: undefined,
      category: undefined,
      dangerous: false,
    }{% if http %}, {
      name: FETCH_TOOL,
      description: 'Fetches a path of {{ http }}',
      inputSchema: JSON.stringify(FETCH_SCHEMA),
      outputSchema: undefined,
      category: undefined,
      dangerous: false,
    }{% endif %}];
  },

  // `call` may be async (it is, to await `fetch`); the host waits within the call's deadline.
  {% if http %}async {% endif %}call(name, args, ctx) {
{%- if http %}
    if (name === FETCH_TOOL) return await fetchPath(args);
{%- endif %}
    if (name !== TOOL) throw { tag: 'not-found', val: name };
    const { name: who, times = 1 } = JSON.parse(args);
    let text = greeting(who, times);
    const structured = { greeting: text };
{%- if kv %}
    let calls;
    try {
      calls = countCall();
    } catch (refused) {
      throw { tag: 'denied', val: String(refused.payload ?? refused) };
    }
    structured.calls = calls;
    text = `${text} (call ${calls})`;
{%- endif %}
    return { content: [{ tag: 'text', val: text }], structured: JSON.stringify(structured) };
  },
};
