// Chat playground: talk to the bot through POST /api/chat/stream with any preset, channel and
// model; the answer streams in and tool calls show as they happen.
import { html, useState, useRef, useEffect } from '../lib.js';
import { get, postStream, api } from '../api.js';
import { t } from '../i18n.js';
import { useLoad, useAction, ErrorNote, Card, PageHead, Badge, Button, Field, Json, Empty } from '../ui.js';

function ToolCall({ call }) {
  return html`<details class="toolcall" data-tool=${call.name}>
    <summary><${Badge} tone="accent">${t('tool')}<//><span class="mono">${call.name}</span>
      ${call.result === undefined ? html`<span class="spinner"><span class="spin" aria-hidden="true"></span>${t('running…')}</span>`
        : html`<${Badge} tone=${call.isError ? 'bad' : 'good'}>${call.isError ? t('error') : t('ok')}<//><span class="muted">${call.durationMs} ms</span>
          <span class="tool-result mono">${String(call.result).slice(0, 80)}</span>`}</summary>
    <h3>${t('Arguments')}</h3><${Json} value=${call.args} label=${t('Arguments')} />
    ${call.result !== undefined && html`<h3>${t('Result')}</h3><${Json} value=${call.result} label=${t('Result')} />`}
  </details>`;
}

export default function Playground() {
  const presets = useLoad(() => get('/api/presets'));
  const channels = useLoad(() => get('/api/channels'));
  const [opts, setOpts] = useState({ presetId: '', channel: '', model: '', userId: 'panel', groupId: '', tools: true });
  const [items, setItems] = useState([]);
  const [message, setMessage] = useState('');
  const [conversation, setConversation] = useState(null);
  const action = useAction();
  const abort = useRef(null);
  const end = useRef(null);
  useEffect(() => {
    if (end.current) end.current.scrollIntoView({ block: 'nearest' });
  }, [items]);
  const set = (k) => (e) => setOpts({ ...opts, [k]: e.currentTarget.type === 'checkbox' ? e.currentTarget.checked : e.currentTarget.value });

  const send = async (e) => {
    e.preventDefault();
    const text = message.trim();
    if (!text) return;
    setMessage('');
    const answerIndex = { value: -1 };
    setItems((xs) => [...xs, { kind: 'user', text }]);
    const body = { message: text, userId: opts.userId || 'panel', tools: opts.tools, mentioned: true };
    for (const k of ['presetId', 'channel', 'model', 'groupId']) if (opts[k]) body[k] = opts[k];
    if (conversation) body.conversationId = conversation;
    abort.current = new AbortController();
    await action.run(() => postStream('/api/chat/stream', body, (name, d) => {
      setItems((xs) => {
        const next = xs.slice();
        if (name === 'content') {
          if (answerIndex.value < 0 || next[answerIndex.value].kind !== 'assistant' || next[answerIndex.value].closed) {
            next.push({ kind: 'assistant', text: '' });
            answerIndex.value = next.length - 1;
          }
          next[answerIndex.value] = { ...next[answerIndex.value], text: next[answerIndex.value].text + d.text };
        } else if (name === 'tool_call') {
          if (answerIndex.value >= 0) next[answerIndex.value] = { ...next[answerIndex.value], closed: true };
          next.push({ kind: 'tool', id: d.id, name: d.name, args: d.args });
        } else if (name === 'tool_result') {
          const i = next.findIndex((x) => x.kind === 'tool' && x.id === d.id);
          if (i >= 0) next[i] = { ...next[i], result: d.result, isError: d.isError, durationMs: d.durationMs };
        } else if (name === 'done') {
          setConversation(d.conversationId);
          const i = answerIndex.value;
          if (i >= 0) next[i] = { ...next[i], usage: d.usage, done: true };
        } else if (name === 'error') {
          next.push({ kind: 'error', error: { message: d.error, code: d.code } });
        } else if (name === 'skipped') {
          next.push({ kind: 'error', error: { message: t('The bot stays silent: {r}', { r: d.reason }), code: 'SKIPPED' } });
        }
        return next;
      });
    }, abort.current.signal));
    abort.current = null;
  };

  const reset = async () => {
    if (abort.current) abort.current.abort();
    if (conversation) await api('DELETE', `/api/conversations/${encodeURIComponent(conversation)}`).catch(() => {});
    setItems([]);
    setConversation(null);
  };

  return html`<div class="stack">
    <${PageHead} title=${t('Chat playground')} subtitle=${t('Talk to the bot as a user would, through the chat API.')}
      actions=${html`<${Button} onClick=${reset}>${t('New conversation')}<//>`} />
    <div class="split">
      <${Card} title=${t('Options')}>
        <div class="form">
          <${Field} label=${t('Preset')}><select value=${opts.presetId} onChange=${set('presetId')}><option value="">${t('Default')}</option>
            ${(presets.data || []).map((p) => html`<option value=${p.id}>${p.name}</option>`)}</select><//>
          <${Field} label=${t('Channel')}><select value=${opts.channel} onChange=${set('channel')}><option value="">${t('Automatic')}</option>
            ${(channels.data || []).map((c) => html`<option value=${c.name}>${c.name}</option>`)}</select><//>
          <${Field} label=${t('Model')} hint=${t('Empty: the preset\'s or the channel\'s.')}><input value=${opts.model} onInput=${set('model')} /><//>
          <${Field} label=${t('User id')}><input value=${opts.userId} onInput=${set('userId')} /><//>
          <${Field} label=${t('Group id (optional)')}><input value=${opts.groupId} onInput=${set('groupId')} /><//>
          <label class="field"><span class="label">${t('Offer tools')}</span><input type="checkbox" checked=${opts.tools} onChange=${set('tools')} /></label>
        </div>
        <${ErrorNote} error=${presets.error || channels.error} />
        ${conversation && html`<p class="hint">${t('Conversation')}: <a class="mono" href=${`#/conversations/${encodeURIComponent(conversation)}`}>${conversation}</a></p>`}
      <//>
      <${Card} title=${t('Conversation')}>
        <div class="transcript" aria-live="polite" aria-label=${t('Conversation')} role="log">
          ${!items.length && html`<${Empty}>${t('Say something to start.')}<//>`}
          ${items.map((x) => (x.kind === 'user' ? html`<div class="bubble user">${x.text}</div>`
            : x.kind === 'assistant' ? html`<div class="bubble assistant" data-done=${x.done ? 'true' : undefined}>${x.text}
              ${x.usage && html`<span class="meta">${t('{p} prompt + {c} completion tokens', { p: x.usage.promptTokens, c: x.usage.completionTokens })}</span>`}</div>`
            : x.kind === 'tool' ? html`<${ToolCall} call=${x} />`
            : html`<${ErrorNote} error=${x.error} />`))}
          <div ref=${end}></div>
        </div>
        <${ErrorNote} error=${action.error} />
        <form class="composer" onSubmit=${send}>
          <label><span class="sr-only">${t('Message')}</span><textarea aria-label=${t('Message')} value=${message} placeholder=${t('Message')}
            onInput=${(e) => setMessage(e.currentTarget.value)}
            onKeyDown=${(e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); e.currentTarget.form.requestSubmit(); } }}></textarea></label>
          <${Button} kind="primary" type="submit" busy=${action.busy} busyLabel=${t('Answering…')}>${t('Send')}<//>
        </form>
      <//>
    </div>
  </div>`;
}
