// Channels: LLM upstreams (OpenAI-compatible, Anthropic, Gemini), their keys (masked), health
// and cooldowns; create, edit, test, list models, delete.
import { html, useState } from '../lib.js';
import { api, get } from '../api.js';
import { t, fmtTime } from '../i18n.js';
import { useLoad, useAction, ErrorNote, Spinner, Card, PageHead, Status, Badge, Button, ConfirmButton, Field, Modal, Empty, splitList, parsePairs, pairsText } from '../ui.js';

const TYPES = [['openai', 'OpenAI / compatible'], ['claude', 'Anthropic'], ['gemini', 'Google Gemini']];

function ChannelForm({ channel, onSaved, onClose }) {
  const editing = !!channel;
  const [v, setV] = useState(() => ({
    name: channel?.name || '', type: channel?.type || 'openai', baseUrl: channel?.baseUrl || '',
    apiKeys: (channel?.apiKeys || []).join('\n'), model: channel?.model || '', models: (channel?.models || []).join(', '),
    priority: channel?.priority ?? 0, timeoutMs: channel?.timeoutMs || 60000, enabled: channel ? channel.enabled : true,
    headers: pairsText(channel?.headers, ': '),
  }));
  const action = useAction();
  const set = (k) => (e) => setV({ ...v, [k]: e.currentTarget.type === 'checkbox' ? e.currentTarget.checked : e.currentTarget.value });
  const submit = async (e) => {
    e.preventDefault();
    const body = {
      type: v.type, baseUrl: v.baseUrl.trim(), apiKeys: v.apiKeys.split('\n').map((s) => s.trim()).filter(Boolean),
      model: v.model.trim() || null, models: splitList(v.models), priority: Number(v.priority) || 0,
      timeoutMs: Number(v.timeoutMs) || undefined, enabled: v.enabled, headers: parsePairs(v.headers, ':'),
    };
    if (!editing) body.name = v.name.trim();
    const out = await action.run(() => (editing ? api('PUT', `/api/channels/${encodeURIComponent(channel.name)}`, body) : api('POST', '/api/channels', body)));
    if (out) onSaved(out);
  };
  return html`<${Modal} title=${editing ? t('Edit {name}', { name: channel.name }) : t('Add a channel')} onClose=${onClose}>
    <form class="form" onSubmit=${submit}>
      <${Field} label=${t('Name')}><input required disabled=${editing} value=${v.name} onInput=${set('name')} placeholder="openai-main" /><//>
      <${Field} label=${t('Protocol')}><select value=${v.type} onChange=${set('type')}>${TYPES.map(([id, label]) => html`<option value=${id}>${label}</option>`)}</select><//>
      <${Field} label=${t('Base URL')} hint=${t('With the version, e.g. https://api.openai.com/v1. Empty: the protocol\'s public endpoint.')} wide>
        <input class="code" type="url" value=${v.baseUrl} onInput=${set('baseUrl')} /><//>
      <${Field} label=${t('API keys (one per line, used in turn)')} hint=${t('Shown masked; a masked key sent back keeps the stored one.')} wide>
        <textarea class="code" autocomplete="off" spellcheck="false" value=${v.apiKeys} onInput=${set('apiKeys')}></textarea><//>
      <${Field} label=${t('Default model')}><input class="code" value=${v.model} onInput=${set('model')} placeholder="gpt-4o-mini" /><//>
      <${Field} label=${t('Models offered (comma separated)')}><input class="code" value=${v.models} onInput=${set('models')} /><//>
      <${Field} label=${t('Priority (lower first)')}><input type="number" value=${v.priority} onInput=${set('priority')} /><//>
      <${Field} label=${t('Timeout (ms)')}><input type="number" min="1" value=${v.timeoutMs} onInput=${set('timeoutMs')} /><//>
      <${Field} label=${t('Extra headers (Name: value per line)')} wide><textarea class="code" value=${v.headers} onInput=${set('headers')}></textarea><//>
      <label class="field"><span class="label">${t('Enabled')}</span><input type="checkbox" checked=${v.enabled} onChange=${set('enabled')} /></label>
      <${ErrorNote} error=${action.error} />
      <div class="form-actions"><${Button} type="button" kind="ghost" onClick=${onClose}>${t('Cancel')}<//><${Button} kind="primary" type="submit" busy=${action.busy}>${editing ? t('Save') : t('Add')}<//></div>
    </form>
  <//>`;
}

function Channel({ c, onEdit, onChanged }) {
  const test = useAction();
  const models = useAction();
  const remove = useAction();
  const [tested, setTested] = useState(null);
  const [listed, setListed] = useState(null);
  const runTest = async () => {
    setTested(null);
    const out = await test.run(() => api('POST', `/api/channels/${encodeURIComponent(c.name)}/test`, {}));
    if (out) setTested(out);
    onChanged();
  };
  return html`<li class="item" aria-label=${c.name}>
    <div class="item-head"><h2 class="mono">${c.name}</h2><${Badge} tone="accent">${c.type}<//><${Status} value=${c.enabled ? c.status : 'disabled'} />
      ${c.retryInMs && html`<span class="hint">${t('retry in {s} s', { s: Math.ceil(c.retryInMs / 1000) })}</span>`}
      <span class="spacer"></span>
      <${Button} busy=${test.busy} busyLabel=${t('Testing…')} onClick=${runTest}>${t('Test')}<//>
      <${Button} busy=${models.busy} onClick=${async () => setListed(await models.run(() => get(`/api/channels/${encodeURIComponent(c.name)}/models`)))}>${t('Models')}<//>
      <${Button} onClick=${onEdit}>${t('Edit')}<//>
      <${ConfirmButton} label=${t('Delete')} busy=${remove.busy} onConfirm=${async () => { await remove.run(() => api('DELETE', `/api/channels/${encodeURIComponent(c.name)}`)); onChanged(); }} /></div>
    <dl class="kv">
      <dt>${t('Base URL')}</dt><dd class="mono">${c.baseUrl || t('public endpoint')}</dd>
      <dt>${t('Keys')}</dt><dd class="mono">${c.apiKeys.join(', ') || '—'}</dd>
      <dt>${t('Model')}</dt><dd class="mono">${c.model || '—'}${c.models.length ? ` (${c.models.join(', ')})` : ''}</dd>
      <dt>${t('Priority')}</dt><dd data-field="priority">${c.priority}</dd>
      <dt>${t('Last tested')}</dt><dd>${fmtTime(c.lastTestedAt)}</dd>
    </dl>
    ${c.lastError && html`<div class="note error">${t('Last error')}: ${c.lastError}</div>`}
    <${ErrorNote} error=${test.error || models.error || remove.error} />
    ${tested && html`<div class="note ok" role="status">${t('{model} answered in {ms} ms: “{reply}”', { model: tested.model, ms: tested.latency, reply: tested.reply })}</div>`}
    ${listed && html`<p class="hint">${t('Upstream models')}: <span class="mono">${listed.join(', ') || '—'}</span></p>`}
  </li>`;
}

export default function Channels() {
  const list = useLoad(() => get('/api/channels'));
  const [form, setForm] = useState(null);
  return html`<div class="stack">
    <${PageHead} title=${t('Channels')} subtitle=${t('LLM upstreams, tried by priority; a failing key cools down and is probed again, never disabled for good.')}
      actions=${html`<${Button} onClick=${list.reload}>${t('Refresh')}<//><${Button} kind="primary" onClick=${() => setForm({})}>${t('Add channel')}<//>`} />
    <${ErrorNote} error=${list.error} />
    ${!list.data ? html`<${Spinner} />` : list.data.length
      ? html`<ul class="list">${list.data.map((c) => html`<${Channel} key=${c.name} c=${c} onChanged=${list.reload} onEdit=${() => setForm({ channel: c })} />`)}</ul>`
      : html`<${Card}><${Empty}>${t('No channel yet: add one to let the bot answer.')}<//><//>`}
    ${form && html`<${ChannelForm} channel=${form.channel} onClose=${() => setForm(null)} onSaved=${() => { setForm(null); list.reload(); }} />`}
  </div>`;
}
