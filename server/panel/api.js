// The panel's only way to the server: the public REST API and its SSE streams, with the
// session cookie. Every failure becomes an ApiError carrying the envelope's `error` and `code`.

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

const SESSION_CODES = new Set(['AUTH_REQUIRED', 'TOKEN_EXPIRED', 'INVALID_TOKEN']);

/** Listeners told when the session is gone (expired, revoked, logged out elsewhere). */
const sessionListeners = new Set();
export function onSessionLost(fn) {
  sessionListeners.add(fn);
  return () => sessionListeners.delete(fn);
}
function sessionLost(code) {
  for (const fn of sessionListeners) fn(code);
}

const HEADERS = { 'X-Requested-With': 'chatai-panel' };

async function decode(response) {
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    throw new ApiError(response.status, 'BAD_RESPONSE', `HTTP ${response.status}: ${text.slice(0, 200)}`);
  }
  if (body && body.success === false) {
    const err = new ApiError(response.status, body.code, body.error, body.details);
    const retry = response.headers.get('Retry-After');
    if (retry) err.retryAfter = Number(retry);
    if (response.status === 401 && SESSION_CODES.has(body.code)) sessionLost(body.code);
    throw err;
  }
  if (!response.ok) throw new ApiError(response.status, 'HTTP_ERROR', `HTTP ${response.status}`);
  return body ? body.data : null;
}

/** `method path` with an optional JSON body (or FormData); resolves to the envelope's `data`. */
export async function api(method, path, body) {
  const init = { method, headers: { ...HEADERS }, credentials: 'same-origin' };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'NETWORK_ERROR', `The server did not answer (${e.message}).`);
  }
  return decode(response);
}

export const get = (path) => api('GET', path);

/** Query string of the defined, non-empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Parses an SSE body into `{event, data}` frames as they arrive. */
async function* frames(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const raw = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data = [];
      for (const line of raw.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (!data.length) continue;
      let parsed;
      try {
        parsed = JSON.parse(data.join('\n'));
      } catch {
        parsed = data.join('\n');
      }
      yield { event, data: parsed };
    }
  }
}

/**
 * `POST path` whose answer is an SSE stream (chat, skill runs): calls `onEvent(name, data)` for
 * each event; an error before the stream starts throws the ApiError.
 */
export async function postStream(path, body, onEvent, signal) {
  let response;
  try {
    response = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { ...HEADERS, 'Content-Type': 'application/json', Accept: 'text/event-stream' },
      body: JSON.stringify(body),
      signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') return;
    throw new ApiError(0, 'NETWORK_ERROR', `The server did not answer (${e.message}).`);
  }
  if (!(response.headers.get('content-type') || '').includes('text/event-stream')) {
    await decode(response);
    return;
  }
  try {
    for await (const frame of frames(response)) onEvent(frame.event, frame.data);
  } catch (e) {
    if (e.name !== 'AbortError') throw e;
  }
}

/**
 * Follows a server SSE stream (`/api/system/events`, `/api/mcp/sse`): EventSource sends the
 * session cookie and reconnects by itself. Returns a function that closes it.
 */
export function follow(path, names, onEvent, onState) {
  const source = new EventSource(path);
  for (const name of names) {
    source.addEventListener(name, (e) => {
      let data = e.data;
      try {
        data = JSON.parse(e.data);
      } catch {
        /* plain text */
      }
      onEvent(name, data);
    });
  }
  source.onopen = () => onState && onState('open');
  source.onerror = () => onState && onState(source.readyState === 2 ? 'closed' : 'reconnecting');
  return () => source.close();
}
