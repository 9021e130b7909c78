// Settings: every configuration key with its value and the layer it comes from (default, file,
// env, runtime). Keys set by the environment are pinned: shown, not editable.
import { html, useState } from '../lib.js';
import { api, get } from '../api.js';
import { t } from '../i18n.js';
import { useLoad, useAction, ErrorNote, Spinner, Card, PageHead, Badge, Button, Empty } from '../ui.js';

const TONES = { default: 'neutral', file: 'accent', env: 'warn', runtime: 'good' };

const at = (obj, path) => path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);

function show(value) {
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function parse(text, before) {
  if (typeof before === 'number') {
    const n = Number(text);
    if (text.trim() === '' || Number.isNaN(n)) throw new Error(t('A number'));
    return n;
  }
  if (typeof before === 'boolean') return text === 'true';
  if (typeof before === 'object' && before !== null) return JSON.parse(text);
  if (before === null && text.trim() === '') return null;
  return text;
}

function Row({ path, value, source, onSaved }) {
  const [text, setText] = useState(show(value));
  const [saved, setSaved] = useState(null);
  const action = useAction();
  const pinned = source === 'env';
  const secret = value === '***';
  const id = `cfg-${path.replace(/\W/g, '-')}`;
  const save = async (e) => {
    e.preventDefault();
    setSaved(null);
    const out = await action.run(async () => api('PUT', '/api/config', { path, value: parse(text, value) }));
    if (out) {
      setSaved(out.restartRequired ? t('Saved; takes effect after a restart.') : t('Saved.'));
      onSaved();
    }
  };
  const control = typeof value === 'boolean'
    ? html`<select id=${id} value=${text} disabled=${pinned} onChange=${(e) => setText(e.currentTarget.value)}><option value="true">true</option><option value="false">false</option></select>`
    : html`<input id=${id} class="code" value=${text} disabled=${pinned || secret} type=${typeof value === 'number' ? 'number' : 'text'} step="any"
        onInput=${(e) => setText(e.currentTarget.value)} />`;
  return html`<tr data-key=${path}>
    <th scope="row"><label for=${id} class="mono">${path}</label></th>
    <td><form class="row nowrap" onSubmit=${save}>${control}
      ${!pinned && !secret && html`<${Button} type="submit" class="btn small" busy=${action.busy} disabled=${text === show(value)} aria-label=${t('Save {key}', { key: path })}>${t('Save')}<//>`}</form>
      ${pinned && html`<span class="hint">${t('Set by the environment; read-only here.')}</span>`}
      ${saved && html`<span class="hint" role="status">${saved}</span>`}
      <${ErrorNote} error=${action.error} /></td>
    <td><${Badge} tone=${TONES[source]}>${t(source)}<//></td>
  </tr>`;
}

/** Sections people change most come first. */
const ORDER = ['trigger', 'chat', 'usage', 'skills', 'tools', 'mcp', 'context', 'llm', 'rate_limit', 'server', 'auth'];
const rank = (section) => (ORDER.includes(section) ? ORDER.indexOf(section) : ORDER.length);

export default function Settings() {
  const cfg = useLoad(() => get('/api/config?explain=true'));
  const [filter, setFilter] = useState('');
  const [section, setSection] = useState(null);
  if (cfg.error) return html`<${ErrorNote} error=${cfg.error} />`;
  if (!cfg.data) return html`<${Spinner} />`;
  const all = Object.keys(cfg.data.sources).sort();
  const sections = [...new Set(all.map((p) => p.split('.')[0]))].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const current = section || sections[0];
  const paths = filter
    ? all.filter((p) => p.toLowerCase().includes(filter.toLowerCase()))
    : all.filter((p) => p.split('.')[0] === current);
  const shown = [...new Set(paths.map((p) => p.split('.')[0]))].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return html`<div class="stack">
    <${PageHead} title=${t('Settings')} subtitle=${t('The effective configuration. Changes are stored in the database and applied at once where possible.')} />
    <${Card}>
      <label class="field"><span class="label">${t('Filter keys')}</span><input type="search" value=${filter} onInput=${(e) => setFilter(e.currentTarget.value)} placeholder="trigger.prefix" /></label>
      ${!filter && html`<div class="chips" role="group" aria-label=${t('Sections')}>${sections.map((x) => html`<button type="button" class="chip"
        aria-pressed=${x === current ? 'true' : 'false'} onClick=${() => setSection(x)}>${x}</button>`)}</div>`}
      <p class="hint">${t('Sources')}: ${Object.keys(TONES).map((x) => html`<${Badge} tone=${TONES[x]}>${t(x)}<//> `)}</p>
    <//>
    ${!paths.length && html`<${Empty}>${t('No key matches.')}<//>`}
    ${shown.map((name) => html`<${Card} title=${name}>
      <div class="table-wrap" role="region" aria-label=${name} tabindex="0"><table class="settings">
        <thead><tr><th scope="col">${t('Key')}</th><th scope="col">${t('Value')}</th><th scope="col">${t('Source')}</th></tr></thead>
        <tbody>${paths.filter((p) => p.split('.')[0] === name).map((p) => html`<${Row} key=${`${p}-${show(at(cfg.data.config, p))}`} path=${p}
          value=${at(cfg.data.config, p)} source=${cfg.data.sources[p]} onSaved=${cfg.reload} />`)}</tbody></table></div>
    <//>`)}
  </div>`;
}
