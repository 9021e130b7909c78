// Groups: per-group settings (unset fields inherit the global config), the effective result
// with each field's source, and today's usage.
import { html, useState } from '../lib.js';
import { api, get } from '../api.js';
import { t, fmtTime } from '../i18n.js';
import { useLoad, useAction, ErrorNote, Spinner, Card, PageHead, Badge, Button, ConfirmButton, Field, Empty, Table, splitList } from '../ui.js';
import { go } from '../app.js';

const list = (xs) => (xs || []).join(', ');
const orNull = (s) => (s === '' ? null : s);
const numOrNull = (s) => (s === '' ? null : Number(s));
const listOrNull = (s) => (s.trim() === '' ? null : splitList(s));

function Editor({ id, group, onSaved }) {
  const g = group || {};
  const [v, setV] = useState(() => ({
    name: g.name || '', enabled: g.enabled === undefined || g.enabled === null ? '' : String(g.enabled), presetId: g.presetId || '',
    type: g.trigger?.type || '', prefix: g.trigger?.prefix || '', keywords: list(g.trigger?.keywords), randomRate: g.trigger?.randomRate ?? '',
    channel: g.channel || '', model: g.model || '', toolsEnabled: g.tools?.enabled ? list(g.tools.enabled) : '', toolsDisabled: list(g.tools?.disabled),
    dailyGroupLimit: g.usageLimit?.dailyGroupLimit ?? '', dailyUserLimit: g.usageLimit?.dailyUserLimit ?? '', limitMessage: g.usageLimit?.limitMessage || '',
    blacklist: list(g.blacklist), whitelist: list(g.whitelist),
  }));
  const action = useAction();
  const set = (k) => (e) => setV({ ...v, [k]: e.currentTarget.value });
  const submit = async (e) => {
    e.preventDefault();
    const body = {
      name: orNull(v.name), enabled: v.enabled === '' ? null : v.enabled === 'true', presetId: orNull(v.presetId),
      trigger: { type: orNull(v.type), prefix: orNull(v.prefix), keywords: listOrNull(v.keywords), randomRate: numOrNull(v.randomRate) },
      channel: orNull(v.channel), model: orNull(v.model), tools: { enabled: listOrNull(v.toolsEnabled), disabled: listOrNull(v.toolsDisabled) },
      usageLimit: { dailyGroupLimit: numOrNull(v.dailyGroupLimit), dailyUserLimit: numOrNull(v.dailyUserLimit), limitMessage: orNull(v.limitMessage) },
      blacklist: listOrNull(v.blacklist), whitelist: listOrNull(v.whitelist),
    };
    const out = await action.run(() => api('PUT', `/api/group-admin/groups/${encodeURIComponent(id)}`, body));
    if (out) onSaved(out);
  };
  return html`<form class="form" onSubmit=${submit}>
    <p class="hint wide">${t('Empty fields inherit the global configuration.')}</p>
    <${Field} label=${t('Name')}><input value=${v.name} onInput=${set('name')} /><//>
    <${Field} label=${t('Bot in this group')}><select value=${v.enabled} onChange=${set('enabled')}><option value="">${t('Inherit')}</option>
      <option value="true">${t('On')}</option><option value="false">${t('Off')}</option></select><//>
    <${Field} label=${t('Preset id')}><input class="code" value=${v.presetId} onInput=${set('presetId')} /><//>
    <${Field} label=${t('Trigger')}><select value=${v.type} onChange=${set('type')}><option value="">${t('Inherit')}</option>
      ${['at', 'prefix', 'both', 'random'].map((x) => html`<option value=${x}>${x}</option>`)}</select><//>
    <${Field} label=${t('Prefix')}><input value=${v.prefix} onInput=${set('prefix')} /><//>
    <${Field} label=${t('Keywords (comma separated)')}><input value=${v.keywords} onInput=${set('keywords')} /><//>
    <${Field} label=${t('Random reply rate (0–100)')}><input type="number" min="0" max="100" value=${v.randomRate} onInput=${set('randomRate')} /><//>
    <${Field} label=${t('Channel')}><input class="code" value=${v.channel} onInput=${set('channel')} /><//>
    <${Field} label=${t('Model')}><input class="code" value=${v.model} onInput=${set('model')} /><//>
    <${Field} label=${t('Only these tools (comma separated)')}><input class="code" value=${v.toolsEnabled} onInput=${set('toolsEnabled')} /><//>
    <${Field} label=${t('Tools switched off')}><input class="code" value=${v.toolsDisabled} onInput=${set('toolsDisabled')} /><//>
    <${Field} label=${t('Daily limit for the group')}><input type="number" min="0" value=${v.dailyGroupLimit} onInput=${set('dailyGroupLimit')} /><//>
    <${Field} label=${t('Daily limit per member')}><input type="number" min="0" value=${v.dailyUserLimit} onInput=${set('dailyUserLimit')} /><//>
    <${Field} label=${t('Message when over the limit')} wide><input value=${v.limitMessage} onInput=${set('limitMessage')} /><//>
    <${Field} label=${t('Blacklist (user ids)')}><input class="code" value=${v.blacklist} onInput=${set('blacklist')} /><//>
    <${Field} label=${t('Whitelist (user ids; empty: everyone)')}><input class="code" value=${v.whitelist} onInput=${set('whitelist')} /><//>
    <${ErrorNote} error=${action.error} />
    <div class="form-actions"><${Button} kind="primary" type="submit" busy=${action.busy}>${t('Save')}<//></div>
  </form>`;
}

function flatten(obj, prefix = '') {
  const rows = [];
  for (const [k, v] of Object.entries(obj || {})) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && 'source' in v && 'value' in v) rows.push({ path, value: v.value, source: v.source });
    else if (v && typeof v === 'object' && !Array.isArray(v)) rows.push(...flatten(v, path));
  }
  return rows;
}

function Group({ id, onChanged }) {
  const group = useLoad(() => get(`/api/group-admin/groups/${encodeURIComponent(id)}`).catch((e) => (e.status === 404 ? null : Promise.reject(e))), [id]);
  const effective = useLoad(() => get(`/api/group-admin/groups/${encodeURIComponent(id)}/effective`), [id]);
  const usage = useLoad(() => get(`/api/group-admin/groups/${encodeURIComponent(id)}/usage`), [id]);
  const remove = useAction();
  if (group.loading && !group.data) return html`<${Spinner} />`;
  return html`<div class="stack">
    <${Card} title=${t('Group {id}', { id })} actions=${group.data && html`<${ConfirmButton} label=${t('Delete settings')} busy=${remove.busy}
        onConfirm=${async () => { await remove.run(() => api('DELETE', `/api/group-admin/groups/${encodeURIComponent(id)}`)); onChanged(); go('groups'); }} />`}>
      <${ErrorNote} error=${group.error || remove.error} />
      <${Editor} key=${group.data ? group.data.updatedAt : 'new'} id=${id} group=${group.data} onSaved=${() => { group.reload(); effective.reload(); onChanged(); }} />
    <//>
    <${Card} title=${t('Effective settings')}>
      <${ErrorNote} error=${effective.error} />
      ${effective.data && html`<${Table} label=${t('Effective settings')} rows=${flatten(effective.data)} columns=${[
        { label: t('Setting'), render: (r) => html`<span class="mono">${r.path}</span>` },
        { label: t('Value'), render: (r) => html`<span class="mono">${r.value === null ? '—' : JSON.stringify(r.value)}</span>` },
        { label: t('Source'), render: (r) => html`<${Badge} tone=${r.source === 'group' ? 'accent' : 'neutral'}>${t(r.source)}<//>` }]} />`}
    <//>
    <${Card} title=${t('Usage today')}>
      <${ErrorNote} error=${usage.error} />
      ${usage.data && html`<p>${t('{date}: {n} answers in the group', { date: usage.data.date, n: usage.data.groupCount })}</p>
        <${Table} label=${t('Usage today')} rows=${usage.data.users} empty=${t('No member used the bot today.')} columns=${[
          { label: t('User id'), key: 'userId' }, { label: t('Answers'), key: 'count', class: 'num' }]} />`}
    <//>
  </div>`;
}

export default function Groups({ rest }) {
  const groups = useLoad(() => get('/api/group-admin/groups'));
  const [newId, setNewId] = useState('');
  const id = rest[0];
  return html`<div class="stack">
    <${PageHead} title=${t('Groups')} subtitle=${t('Per-group rules: trigger, preset, tools, daily limits, who may talk to the bot.')} />
    <${ErrorNote} error=${groups.error} />
    <div class="split">
      <${Card} title=${t('Configured groups')}>
        <form class="row" onSubmit=${(e) => { e.preventDefault(); if (newId.trim()) go('groups', newId.trim()); }}>
          <label class="field" style="flex:1"><span class="label">${t('Group id')}</span><input value=${newId} onInput=${(e) => setNewId(e.currentTarget.value)} placeholder="123456789" /></label>
          <${Button} type="submit" style="align-self:end">${t('Open')}<//></form>
        ${!groups.data ? html`<${Spinner} />` : groups.data.length ? html`<ul class="list" style="margin-top:12px">${groups.data.map((g) => html`<li>
          <a class=${`item${id === g.groupId ? ' selected' : ''}`} href=${`#/groups/${encodeURIComponent(g.groupId)}`} aria-current=${id === g.groupId ? 'true' : undefined}>
            <span class="item-head"><strong class="mono">${g.groupId}</strong>${g.name && html`<span>${g.name}</span>`}
              ${g.enabled === false && html`<${Badge}>${t('off')}<//>`}</span><span class="hint">${fmtTime(g.updatedAt)}</span></a></li>`)}</ul>`
          : html`<${Empty}>${t('No group has its own settings yet.')}<//>`}
      <//>
      <div>${id ? html`<${Group} key=${id} id=${id} onChanged=${groups.reload} />` : html`<${Card}><${Empty}>${t('Pick a group, or open one by its id.')}<//><//>`}</div>
    </div>
  </div>`;
}
