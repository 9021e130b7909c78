// Custom extensions: upload a component (+ manifest), grant what it requests, enable, disable,
// remove, and what happened to each.
import { html, useState } from '../lib.js';
import { api, get } from '../api.js';
import { t, fmtTime, fmtBytes } from '../i18n.js';
import { useLoad, useAction, ErrorNote, Spinner, Card, PageHead, Badge, Toggle, Button, ConfirmButton, Field, Empty } from '../ui.js';

function Upload({ onDone }) {
  const [file, setFile] = useState(null);
  const [manifest, setManifest] = useState(null);
  const [done, setDone] = useState(null);
  const action = useAction();
  const submit = async (e) => {
    e.preventDefault();
    setDone(null);
    if (!file) {
      action.setError({ message: t('Choose a .wasm component first.'), code: 'VALIDATION_ERROR' });
      return;
    }
    const form = new FormData();
    form.append('file', file);
    if (manifest) form.append('manifest', manifest);
    const ext = await action.run(() => api('POST', '/api/tools/custom', form));
    if (ext) {
      setDone(ext);
      e.target.reset();
      setFile(null);
      setManifest(null);
      onDone();
    }
  };
  return html`<${Card} title=${t('Upload an extension')}>
    <form class="form" onSubmit=${submit}>
      <${Field} label=${t('Component (.wasm)')} hint=${t('A WebAssembly component of the chatai tool or skill world.')}>
        <input type="file" name="file" accept=".wasm,application/wasm" onChange=${(e) => setFile(e.currentTarget.files[0] || null)} /><//>
      <${Field} label=${t('Manifest (extension.toml, optional)')} hint=${t('Name, version, capabilities it requests, limits.')}>
        <input type="file" name="manifest" accept=".toml,text/plain" onChange=${(e) => setManifest(e.currentTarget.files[0] || null)} /><//>
      <div class="form-actions">
        ${action.busy && html`<span class="spinner" role="status"><span class="spin" aria-hidden="true"></span>${t('Uploading and compiling…')}</span>`}
        <${Button} kind="primary" type="submit" busy=${action.busy}>${t('Upload')}<//></div>
      <${ErrorNote} error=${action.error} />
      ${done && html`<div class="note ok" role="status">${t('Installed {name} {version} with {n} tools.', { name: done.name, version: done.version || '', n: done.tools.length })}
        ${pending(done) && html` ${t('It requests capabilities that are not granted yet: grant them below.')}`}</div>`}
    </form>
  <//>`;
}

const pending = (ext) => {
  const r = ext.capabilities.requested;
  const g = ext.capabilities.granted;
  return (r.kv && !g.kv) || r.http.some((h) => !g.http.includes(h)) || r.config.some((c) => !g.config.includes(c));
};

function Grants({ ext, onSaved }) {
  const r = ext.capabilities.requested;
  const [grants, setGrants] = useState(ext.capabilities.granted);
  const action = useAction();
  if (!r.kv && !r.http.length && !r.config.length) return html`<p class="muted">${t('Requests no capabilities.')}</p>`;
  const flip = (kind, value) => (e) => {
    const on = e.currentTarget.checked;
    if (kind === 'kv') setGrants({ ...grants, kv: on });
    else setGrants({ ...grants, [kind]: on ? [...grants[kind], value] : grants[kind].filter((x) => x !== value) });
  };
  const save = async () => {
    const out = await action.run(() => api('PUT', `/api/tools/custom/${encodeURIComponent(ext.name)}`, { grants }));
    if (out) onSaved(out);
  };
  return html`<fieldset><legend>${t('Capabilities: granted of requested')}</legend>
    <div class="checks">
      ${r.kv && html`<label><input type="checkbox" checked=${grants.kv} onChange=${flip('kv')} /> ${t('Key-value store')}</label>`}
      ${r.http.map((h) => html`<label><input type="checkbox" checked=${grants.http.includes(h)} onChange=${flip('http', h)} /> HTTP <span class="mono">${h}</span></label>`)}
      ${r.config.map((c) => html`<label><input type="checkbox" checked=${grants.config.includes(c)} onChange=${flip('config', c)} /> ${t('Config')} <span class="mono">${c}</span></label>`)}
    </div>
    <div class="row" style="margin-top:8px"><${Button} busy=${action.busy} onClick=${save}>${t('Save grants')}<//></div>
    <${ErrorNote} error=${action.error} />
  </fieldset>`;
}

function Extension({ ext, onChanged, onRemoved }) {
  const toggle = useAction();
  const remove = useAction();
  const setEnabled = async (enabled) => {
    const out = await toggle.run(() => api('PUT', `/api/tools/custom/${encodeURIComponent(ext.name)}`, { enabled }));
    if (out) onChanged(out);
  };
  return html`<li class="item" aria-label=${ext.name}>
    <div class="item-head"><h2 class="mono">${ext.name}</h2><${Badge}>${ext.version || t('no version')}<//>
      ${pending(ext) && html`<${Badge} tone="warn">${t('grant pending')}<//>`}
      <span class="spacer"></span><${Toggle} label=${t('Enabled')} checked=${ext.enabled} onChange=${setEnabled} disabled=${toggle.busy} />
      <${ConfirmButton} label=${t('Remove')} confirmLabel=${t('Yes, remove')} busy=${remove.busy}
        onConfirm=${async () => { if ((await remove.run(() => api('DELETE', `/api/tools/custom/${encodeURIComponent(ext.name)}`))) !== undefined) onRemoved(); }} /></div>
    ${ext.description && html`<p class="muted">${ext.description}</p>`}
    <${ErrorNote} error=${toggle.error || remove.error} />
    <dl class="kv">
      <dt>${t('Tools')}</dt><dd>${ext.tools.map((x) => html`<a class="mono" href=${`#/tools/${encodeURIComponent(x.name)}`}>${x.name}</a> `)}</dd>
      <dt>${t('Size')}</dt><dd>${fmtBytes(ext.size)}</dd>
      <dt>${t('Installed')}</dt><dd>${fmtTime(ext.installedAt)} (${ext.origin})</dd>
      <dt>${t('Config keys')}</dt><dd>${ext.configKeys.join(', ') || '—'}</dd>
    </dl>
    <${Grants} key=${JSON.stringify(ext.capabilities.granted)} ext=${ext} onSaved=${onChanged} />
    <details><summary>${t('History ({n})', { n: ext.events.length })}</summary>
      <ul class="events">${ext.events.slice().reverse().map((e) => html`<li><time>${fmtTime(e.at)}</time><${Badge}>${e.action}<//><span></span></li>`)}</ul></details>
  </li>`;
}

export default function Extensions() {
  const list = useLoad(() => get('/api/tools/custom'));
  const replace = (ext) => list.setData((xs) => xs.map((x) => (x.name === ext.name ? ext : x)));
  return html`<div class="stack">
    <${PageHead} title=${t('Extensions')} subtitle=${t('Third-party tools and skills as sandboxed WebAssembly components.')} />
    <${Upload} onDone=${list.reload} />
    <${Card} title=${t('Installed')}>
      <${ErrorNote} error=${list.error} />
      ${!list.data ? html`<${Spinner} />` : list.data.length
        ? html`<ul class="list">${list.data.map((ext) => html`<${Extension} key=${ext.name} ext=${ext} onChanged=${replace} onRemoved=${list.reload} />`)}</ul>`
        : html`<${Empty}>${t('No custom extension yet. Upload a component above.')}<//>`}
    <//>
  </div>`;
}
