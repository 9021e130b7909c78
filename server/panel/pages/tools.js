// Tools: every tool of every source, filters, a call form generated from each tool's schema,
// the result, and the call log.
import { html, useState, useMemo } from '../lib.js';
import { api, get, query } from '../api.js';
import { t, fmtTime } from '../i18n.js';
import { useLoad, useAction, ErrorNote, Spinner, Card, PageHead, Table, Badge, Json, Toggle, Button, Empty } from '../ui.js';
import { SchemaForm } from '../schema-form.js';
import { go } from '../app.js';

function Result({ result }) {
  return html`<div class="stack" aria-live="polite">
    <div class="row"><${Badge} tone="good">${t('OK')}<//><span class="muted">${t('{ms} ms', { ms: result.durationMs })}</span>
      <span class="muted mono">${result.callId}</span></div>
    <h3>${t('Result')}</h3>
    <output class="result-text" for="call-form"><pre class="json">${result.result}</pre></output>
    ${result.structured !== undefined && result.structured !== null && html`<h3>${t('Structured')}</h3><${Json} value=${result.structured} label=${t('Structured result')} />`}
  </div>`;
}

function Logs({ tool }) {
  const logs = useLoad(() => get(`/api/tools/logs${query({ toolName: tool, limit: 20 })}`), [tool]);
  return html`<${Card} title=${t('Recent calls')} headingLevel=${3} actions=${html`<${Button} class="btn small" onClick=${logs.reload}>${t('Refresh')}<//>`}>
    <${ErrorNote} error=${logs.error} />
    ${logs.data ? html`<${Table} label=${t('Recent calls')} rows=${logs.data} empty=${t('No calls yet.')} columns=${[
      { label: t('When'), render: (r) => fmtTime(r.timestamp) },
      { label: t('Outcome'), render: (r) => html`<${Badge} tone=${r.success ? 'good' : 'bad'}>${r.success ? t('ok') : t('failed')}<//>` },
      { label: t('Source'), key: 'source' },
      { label: t('Duration'), class: 'num', render: (r) => `${Number(r.durationMs).toFixed(r.durationMs < 10 ? 2 : 0)} ms` },
      { label: t('Result'), class: 'clip', render: (r) => r.error || r.result },
    ]} />` : html`<${Spinner} />`}
  <//>`;
}

function ToolDetail({ name, onChanged }) {
  const tool = useLoad(() => get(`/api/tools/${encodeURIComponent(name)}`), [name]);
  const call = useAction();
  const toggle = useAction();
  const [result, setResult] = useState(null);
  const [calls, setCalls] = useState(0);
  if (tool.error) return html`<${ErrorNote} error=${tool.error} />`;
  if (!tool.data) return html`<${Spinner} />`;
  const d = tool.data;
  const submit = async (args) => {
    setResult(null);
    const out = await call.run(() => api('POST', '/api/tools/call', { name, args }));
    if (out) setResult(out);
    setCalls((n) => n + 1);
  };
  const setEnabled = async (enabled) => {
    const out = await toggle.run(() => api('POST', '/api/skills/toggle-tool', { toolName: name, enabled }));
    if (out) {
      tool.setData({ ...d, enabled });
      onChanged();
    }
  };
  return html`<div class="stack">
    <${Card} title=${html`<span class="mono">${d.name}</span>`} actions=${html`<${Toggle} label=${t('Enabled')} checked=${d.enabled} onChange=${setEnabled} disabled=${toggle.busy} />`}>
      <p>${d.description}</p>
      <div class="tags"><${Badge} tone="accent">${d.source}<//><${Badge}>${d.category}<//>
        ${d.dangerous && html`<${Badge} tone="warn">${t('dangerous')}<//>`}${d.adminOnly && html`<${Badge} tone="warn">${t('admin only')}<//>`}
        ${d.extension && html`<${Badge}>${d.extension.name} ${d.extension.version || ''}<//>`}${d.server && html`<${Badge}>MCP ${d.server}<//>`}</div>
      <${ErrorNote} error=${toggle.error} />
      <h3>${t('Call')}</h3>
      <div id="call-form"><${SchemaForm} key=${name} schema=${d.parameters} busy=${call.busy} onSubmit=${submit} submitLabel=${t('Call {name}', { name })} /></div>
      <${ErrorNote} error=${call.error} />
      ${result && html`<${Result} result=${result} />`}
      <details><summary>${t('Input schema')}</summary><${Json} value=${d.parameters} label=${t('Input schema')} /></details>
    <//>
    <${Logs} key=${`${name}-${calls}`} tool=${name} />
  </div>`;
}

export default function Tools({ rest }) {
  const tools = useLoad(() => get('/api/tools'));
  const [filter, setFilter] = useState({ text: '', source: '', category: '', enabled: '' });
  const selected = rest[0];
  const list = tools.data || [];
  const categories = useMemo(() => [...new Set(list.map((x) => x.category))].sort(), [list]);
  const shown = list.filter((x) => (!filter.text || `${x.name} ${x.description}`.toLowerCase().includes(filter.text.toLowerCase()))
    && (!filter.source || x.source === filter.source) && (!filter.category || x.category === filter.category)
    && (filter.enabled === '' || String(x.enabled) === filter.enabled));
  const set = (k) => (e) => setFilter({ ...filter, [k]: e.currentTarget.value });
  return html`<div>
    <${PageHead} title=${t('Tools')} subtitle=${t('Every tool the chat, MCP clients and the API can call, from every source.')} />
    <${ErrorNote} error=${tools.error} />
    <div class="split">
      <${Card} title=${t('{n} tools', { n: shown.length })}>
        <div class="form" role="search">
          <label class="field wide"><span class="label">${t('Search')}</span><input type="search" value=${filter.text} onInput=${set('text')} /></label>
          <label class="field"><span class="label">${t('Source')}</span><select value=${filter.source} onChange=${set('source')}>
            <option value="">${t('All')}</option>${['builtin', 'custom', 'mcp', 'skill'].map((s) => html`<option value=${s}>${s}</option>`)}</select></label>
          <label class="field"><span class="label">${t('Category')}</span><select value=${filter.category} onChange=${set('category')}>
            <option value="">${t('All')}</option>${categories.map((c) => html`<option value=${c}>${c}</option>`)}</select></label>
          <label class="field"><span class="label">${t('State')}</span><select value=${filter.enabled} onChange=${set('enabled')}>
            <option value="">${t('All')}</option><option value="true">${t('Enabled')}</option><option value="false">${t('Disabled')}</option></select></label>
        </div>
        ${!tools.data ? html`<${Spinner} />` : html`<ul class="list" style="margin-top:12px">${shown.map((x) => html`<li>
          <a class=${`item tool-link${selected === x.name ? ' selected' : ''}`} href=${`#/tools/${encodeURIComponent(x.name)}`} aria-current=${selected === x.name ? 'true' : undefined}>
            <span class="item-head"><strong class="mono">${x.name}</strong><${Badge} tone="accent">${x.source}<//>${!x.enabled && html`<${Badge}>${t('disabled')}<//>`}</span>
            <span class="muted clip2">${x.description}</span></a></li>`)}</ul>`}
        ${tools.data && !shown.length && html`<${Empty}>${t('No tool matches.')}<//>`}
      <//>
      <div>${selected ? html`<${ToolDetail} key=${selected} name=${selected} onChanged=${tools.reload} />`
        : html`<${Card}><${Empty}>${t('Pick a tool to see its schema, call it and read its log.')}<//>
          ${list[0] && html`<${Button} kind="primary" onClick=${() => go('tools', list[0].name)}>${t('Open {name}', { name: list[0].name })}<//>`}<//>`}</div>
    </div>
  </div>`;
}
