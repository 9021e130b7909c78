// Conversations: newest first, each one's messages with its tool calls; delete one or all.
import { html, useState } from '../lib.js';
import { api, get, query } from '../api.js';
import { t, fmtTime } from '../i18n.js';
import { useLoad, useAction, ErrorNote, Spinner, Card, PageHead, Badge, Button, ConfirmButton, Json, Empty, Field } from '../ui.js';
import { go } from '../app.js';

/** A tool call's arguments, compact: stored as the model sent them (often a JSON string). */
function argsText(tc) {
  const raw = tc.args ?? tc.arguments ?? {};
  if (typeof raw !== 'string') return JSON.stringify(raw);
  try {
    return JSON.stringify(JSON.parse(raw));
  } catch {
    return raw;
  }
}

function View({ id, onDeleted }) {
  const conv = useLoad(() => get(`/api/conversations/${encodeURIComponent(id)}`), [id]);
  const remove = useAction();
  if (conv.error) return html`<${ErrorNote} error=${conv.error} />`;
  if (!conv.data) return html`<${Spinner} />`;
  const c = conv.data;
  return html`<${Card} class="conversation" title=${html`<span class="mono">${c.id}</span>`} actions=${html`<${ConfirmButton} label=${t('Delete')} busy=${remove.busy}
      onConfirm=${async () => { if ((await remove.run(() => api('DELETE', `/api/conversations/${encodeURIComponent(id)}`))) !== undefined) { onDeleted(); go('conversations'); } }} />`}>
    <${ErrorNote} error=${remove.error} />
    <div class="transcript" role="log" aria-label=${t('Messages')}>
      ${c.messages.map((m) => (m.role === 'tool'
        ? html`<details class="toolcall"><summary><${Badge} tone="accent">${t('tool result')}<//><span class="mono">${String(m.content).slice(0, 80)}</span></summary><${Json} value=${m.content} /></details>`
        : html`<div class=${`bubble ${m.role === 'user' ? 'user' : 'assistant'}`}>${m.content}
            ${(m.toolCalls || []).map((tc) => html`<span class="meta">→ <span class="mono">${tc.name}</span> <span class="mono">${argsText(tc)}</span></span>`)}
            <span class="meta">${m.role} · ${fmtTime(m.timestamp)}</span></div>`))}
      ${!c.messages.length && html`<${Empty}>${t('No messages.')}<//>`}
    </div>
  <//>`;
}

export default function Conversations({ rest }) {
  const [filter, setFilter] = useState({ userId: '', groupId: '' });
  const [cursor, setCursor] = useState(null);
  const list = useLoad(() => get(`/api/conversations${query({ ...filter, limit: 50, cursor })}`), [filter.userId, filter.groupId, cursor]);
  const clear = useAction();
  const id = rest[0];
  return html`<div class="stack">
    <${PageHead} title=${t('Conversations')} subtitle=${t('What users and groups said to the bot, with the tools it called.')}
      actions=${html`<${ConfirmButton} label=${t('Delete all')} confirmLabel=${t('Yes, delete all')} busy=${clear.busy}
        onConfirm=${async () => { await clear.run(() => api('DELETE', '/api/conversations?confirm=true')); list.reload(); }} />`} />
    <${ErrorNote} error=${clear.error || list.error} />
    <div class="split">
      <${Card} title=${t('Newest first')}>
        <div class="form">
          <${Field} label=${t('User id')}><input value=${filter.userId} onChange=${(e) => { setCursor(null); setFilter({ ...filter, userId: e.currentTarget.value }); }} /><//>
          <${Field} label=${t('Group id')}><input value=${filter.groupId} onChange=${(e) => { setCursor(null); setFilter({ ...filter, groupId: e.currentTarget.value }); }} /><//>
        </div>
        ${!list.data ? html`<${Spinner} />` : list.data.items.length ? html`<ul class="list" style="margin-top:12px">${list.data.items.map((c) => html`<li>
          <a class=${`item${id === c.id ? ' selected' : ''}`} href=${`#/conversations/${encodeURIComponent(c.id)}`} aria-current=${id === c.id ? 'true' : undefined}>
            <span class="item-head"><strong class="mono">${c.id}</strong><${Badge}>${t('{n} messages', { n: c.messageCount })}<//></span>
            <span class="muted clip2">${c.lastMessage || ''}</span><span class="hint">${fmtTime(c.updatedAt)}</span></a></li>`)}</ul>`
          : html`<${Empty}>${t('No conversation yet.')}<//>`}
        ${list.data && (cursor || list.data.nextCursor) && html`<div class="row" style="margin-top:12px">
          ${cursor && html`<${Button} onClick=${() => setCursor(null)}>${t('Newest')}<//>`}
          ${list.data.nextCursor && html`<${Button} onClick=${() => setCursor(list.data.nextCursor)}>${t('Older')}<//>`}</div>`}
      <//>
      <div>${id ? html`<${View} key=${id} id=${id} onDeleted=${list.reload} />` : html`<${Card}><${Empty}>${t('Pick a conversation to read it.')}<//><//>`}</div>
    </div>
  </div>`;
}
