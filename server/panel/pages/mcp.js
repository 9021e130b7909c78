// MCP servers we connect to: add (stdio, streamable HTTP, SSE, npm), connect, disconnect,
// remove, live status from /api/mcp/sse, and each server's tools, resources and prompts.
import { html, useState, useEffect } from '../lib.js';
import { api, get, follow } from '../api.js';
import { t, fmtTime } from '../i18n.js';
import { useLoad, useAction, ErrorNote, Spinner, Card, PageHead, Status, Badge, Button, ConfirmButton, Field, Modal, Empty, Table, splitList, parsePairs, pairsText } from '../ui.js';

const TYPES = ['stdio', 'http', 'sse', 'npm'];

function ServerForm({ server, onSaved, onClose }) {
  const editing = !!server;
  const [v, setV] = useState(() => ({
    name: server?.name || '', type: server?.type || 'stdio', command: server?.command || '', args: (server?.args || []).join('\n'),
    env: pairsText(server?.env), url: server?.url || '', headers: pairsText(server?.headers, ': '), package: server?.package || '',
    cwd: server?.cwd || '', timeoutMs: server?.timeoutMs || 30000, enabled: server ? server.enabled : true,
  }));
  const action = useAction();
  const set = (k) => (e) => setV({ ...v, [k]: e.currentTarget.type === 'checkbox' ? e.currentTarget.checked : e.currentTarget.value });
  const submit = async (e) => {
    e.preventDefault();
    const body = { type: v.type, enabled: v.enabled, timeoutMs: Number(v.timeoutMs) || undefined };
    if (!editing) body.name = v.name.trim();
    if (v.type === 'stdio') Object.assign(body, { command: v.command.trim(), args: v.args.split('\n').map((s) => s.trim()).filter(Boolean), env: parsePairs(v.env), cwd: v.cwd.trim() || undefined });
    if (v.type === 'npm') Object.assign(body, { package: v.package.trim(), args: splitList(v.args), env: parsePairs(v.env) });
    if (v.type === 'http' || v.type === 'sse') Object.assign(body, { url: v.url.trim(), headers: parsePairs(v.headers, ':') });
    const out = await action.run(() => (editing ? api('PUT', `/api/mcp/servers/${encodeURIComponent(server.name)}`, body) : api('POST', '/api/mcp/servers', body)));
    if (out) onSaved(out);
  };
  return html`<${Modal} title=${editing ? t('Edit {name}', { name: server.name }) : t('Add an MCP server')} onClose=${onClose}>
    <form class="form" onSubmit=${submit}>
      <${Field} label=${t('Name')}><input required disabled=${editing} value=${v.name} onInput=${set('name')} placeholder="everything" /><//>
      <${Field} label=${t('Type')}><select value=${v.type} onChange=${set('type')}>${TYPES.map((x) => html`<option value=${x}>${x}</option>`)}</select><//>
      ${v.type === 'stdio' && html`<${Field} label=${t('Command')} wide><input class="code" value=${v.command} onInput=${set('command')} placeholder="node" /><//>
        <${Field} label=${t('Arguments (one per line)')} wide><textarea class="code" value=${v.args} onInput=${set('args')}></textarea><//>
        <${Field} label=${t('Working directory')} wide><input class="code" value=${v.cwd} onInput=${set('cwd')} /><//>`}
      ${v.type === 'npm' && html`<${Field} label=${t('npm package')} wide><input class="code" value=${v.package} onInput=${set('package')} placeholder="@modelcontextprotocol/server-everything" /><//>`}
      ${(v.type === 'stdio' || v.type === 'npm') && html`<${Field} label=${t('Environment (KEY=value per line)')} hint=${t('Secrets are masked when shown; sending a masked value back keeps it.')} wide>
        <textarea class="code" value=${v.env} onInput=${set('env')}></textarea><//>`}
      ${(v.type === 'http' || v.type === 'sse') && html`<${Field} label=${t('URL')} wide><input class="code" type="url" value=${v.url} onInput=${set('url')} placeholder="http://127.0.0.1:8080/mcp" /><//>
        <${Field} label=${t('Headers (Name: value per line)')} wide><textarea class="code" value=${v.headers} onInput=${set('headers')}></textarea><//>`}
      <${Field} label=${t('Timeout per call (ms)')}><input type="number" min="1" value=${v.timeoutMs} onInput=${set('timeoutMs')} /><//>
      <label class="field"><span class="label">${t('Enabled')}</span><input type="checkbox" checked=${v.enabled} onChange=${set('enabled')} /></label>
      <${ErrorNote} error=${action.error} />
      <div class="form-actions"><${Button} type="button" kind="ghost" onClick=${onClose}>${t('Cancel')}<//><${Button} kind="primary" type="submit" busy=${action.busy}>${editing ? t('Save') : t('Add')}<//></div>
    </form>
  <//>`;
}

function Detail({ name }) {
  const d = useLoad(() => get(`/api/mcp/servers/${encodeURIComponent(name)}`), [name]);
  const [tab, setTab] = useState('tools');
  if (d.error) return html`<${ErrorNote} error=${d.error} />`;
  if (!d.data) return html`<${Spinner} />`;
  const s = d.data;
  return html`<div>
    <div class="tabs" role="tablist" aria-label=${t('Server details')}>
      ${['tools', 'resources', 'prompts'].map((x) => html`<button role="tab" type="button" aria-selected=${tab === x ? 'true' : 'false'} onClick=${() => setTab(x)}>${t(x)} (${s[x].length})</button>`)}
    </div>
    <div role="tabpanel" aria-label=${t(tab)}>
      ${tab === 'tools' && html`<${Table} label=${t('tools')} rows=${s.tools} empty=${t('No tools.')} columns=${[
        { label: t('Name'), render: (x) => html`<a class="mono" href=${`#/tools/${encodeURIComponent(x.name)}`}>${x.name}</a>` },
        { label: t('Description'), key: 'description' }]} />`}
      ${tab === 'resources' && html`<${Table} label=${t('resources')} rows=${s.resources} empty=${t('No resources.')} columns=${[
        { label: 'URI', render: (x) => html`<span class="mono">${x.uri}</span>` }, { label: t('Name'), key: 'name' }, { label: t('Type'), key: 'mimeType' }]} />`}
      ${tab === 'prompts' && html`<${Table} label=${t('prompts')} rows=${s.prompts} empty=${t('No prompts.')} columns=${[
        { label: t('Name'), render: (x) => html`<span class="mono">${x.name}</span>` }, { label: t('Description'), key: 'description' }]} />`}
    </div>
  </div>`;
}

function Server({ s, onChanged, onEdit }) {
  const action = useAction();
  const [open, setOpen] = useState(false);
  const post = (verb) => action.run(async () => { await api('POST', `/api/mcp/servers/${encodeURIComponent(s.name)}/${verb}`, {}); onChanged(); });
  return html`<li class="item" aria-label=${s.name} data-server=${s.name}>
    <div class="item-head"><h2 class="mono">${s.name}</h2><${Badge}>${s.type}<//>
      <span class="server-status" aria-live="polite"><${Status} value=${s.status} /></span>
      <span class="muted">${t('{n} tools', { n: s.toolCount })}</span>
      <span class="spacer"></span>
      ${s.status === 'connected' || s.status === 'connecting'
        ? html`<${Button} busy=${action.busy} onClick=${() => post('disconnect')}>${t('Disconnect')}<//>`
        : html`<${Button} busy=${action.busy} onClick=${() => post('connect')}>${t('Connect')}<//>`}
      <${Button} onClick=${onEdit}>${t('Edit')}<//>
      <${ConfirmButton} label=${t('Remove')} confirmLabel=${t('Yes, remove')} onConfirm=${() => action.run(async () => { await api('DELETE', `/api/mcp/servers/${encodeURIComponent(s.name)}`); onChanged(); })} /></div>
    <p class="muted mono">${s.command ? [s.command, ...s.args].join(' ') : s.url || s.package}</p>
    ${s.error && html`<div class="note error">${s.error}</div>`}
    ${s.connectedAt && html`<p class="hint">${t('Connected since {at}', { at: fmtTime(s.connectedAt) })}</p>`}
    <${ErrorNote} error=${action.error} />
    <details open=${open} onToggle=${(e) => setOpen(e.currentTarget.open)}><summary>${t('Tools, resources and prompts')}</summary>
      ${open && html`<${Detail} key=${`${s.status}-${s.toolCount}`} name=${s.name} />`}</details>
  </li>`;
}

export default function Mcp() {
  const list = useLoad(() => get('/api/mcp/servers'));
  const [form, setForm] = useState(null);
  const [live, setLive] = useState('connecting');
  useEffect(() => follow('/api/mcp/sse', ['connected', 'disconnected', 'error', 'tools_updated'], (name, d) => {
    list.setData((xs) => (xs || []).map((s) => (s.name === d.server ? { ...s, status: d.status, error: d.error, toolCount: d.toolCount } : s)));
    if (name === 'connected' || name === 'tools_updated') list.reload();
  }, setLive), []);
  return html`<div class="stack">
    <${PageHead} title=${t('MCP servers')} subtitle=${t('Servers whose tools join the hub. Status updates live.')}
      actions=${html`<${Badge} tone=${live === 'open' ? 'good' : 'warn'}>${live === 'open' ? t('live') : t(live)}<//>
        <${Button} onClick=${() => api('POST', '/api/mcp/servers/reconnect-all', {}).then(list.reload, list.reload)}>${t('Reconnect all')}<//>
        <${Button} kind="primary" onClick=${() => setForm({})}>${t('Add server')}<//>`} />
    <${ErrorNote} error=${list.error} />
    ${!list.data ? html`<${Spinner} />` : list.data.length
      ? html`<ul class="list">${list.data.map((s) => html`<${Server} key=${s.name} s=${s} onChanged=${list.reload} onEdit=${() => setForm({ server: s })} />`)}</ul>`
      : html`<${Card}><${Empty}>${t('No MCP server yet.')}<//><//>`}
    ${form && html`<${ServerForm} server=${form.server} onClose=${() => setForm(null)} onSaved=${() => { setForm(null); list.reload(); }} />`}
  </div>`;
}
