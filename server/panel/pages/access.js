// API keys and login links: create (the secret is shown once), list, revoke.
import { html, useState } from '../lib.js';
import { api, get } from '../api.js';
import { t, fmtTime } from '../i18n.js';
import { useLoad, useAction, ErrorNote, Spinner, Card, PageHead, Badge, Button, ConfirmButton, Field, Table } from '../ui.js';

const SCOPES = ['read', 'chat', 'tools:call', 'admin'];
const KINDS = { 'api-key': 'API key', 'login-token': 'Permanent login link' };

function Secret({ label, value }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };
  return html`<div class="note info" role="status">
    <p><strong>${label}</strong> ${t('Shown once: copy it now.')}</p>
    <div class="row"><code class="secret" data-secret="true">${value}</code><${Button} class="btn small" onClick=${copy}>${copied ? t('Copied') : t('Copy')}<//></div>
  </div>`;
}

function NewKey({ onDone }) {
  const [label, setLabel] = useState('');
  const [scopes, setScopes] = useState(['read']);
  const [rate, setRate] = useState('');
  const [made, setMade] = useState(null);
  const action = useAction();
  const submit = async (e) => {
    e.preventDefault();
    const body = { label: label.trim(), scopes };
    if (rate) body.rateLimitPerMinute = Number(rate);
    const out = await action.run(() => api('POST', '/api/auth/api-keys', body));
    if (out) {
      setMade(out);
      setLabel('');
      onDone();
    }
  };
  return html`<${Card} title=${t('New API key')}>
    <form class="form" onSubmit=${submit}>
      <${Field} label=${t('Label')}><input name="label" required value=${label} onInput=${(e) => setLabel(e.currentTarget.value)} placeholder="bot-adapter" /><//>
      <${Field} label=${t('Requests per minute (optional)')}><input type="number" min="0" value=${rate} onInput=${(e) => setRate(e.currentTarget.value)} /><//>
      <fieldset class="wide"><legend>${t('Scopes')}</legend><div class="checks">
        ${SCOPES.map((s) => html`<label><input type="checkbox" checked=${scopes.includes(s)}
          onChange=${(e) => setScopes(e.currentTarget.checked ? [...scopes, s] : scopes.filter((x) => x !== s))} /> <span class="mono">${s}</span></label>`)}</div></fieldset>
      <${ErrorNote} error=${action.error} />
      <div class="form-actions"><${Button} kind="primary" type="submit" busy=${action.busy}>${t('Create key')}<//></div>
    </form>
    ${made && html`<${Secret} label=${t('API key')} value=${made.key} />`}
  <//>`;
}

function NewLink({ onDone }) {
  const [permanent, setPermanent] = useState(false);
  const [label, setLabel] = useState('');
  const [made, setMade] = useState(null);
  const action = useAction();
  const submit = async (e) => {
    e.preventDefault();
    const out = await action.run(() => api('POST', '/api/auth/login-links', { permanent, label: label.trim() || undefined }));
    if (out) {
      setMade(out);
      onDone();
    }
  };
  return html`<${Card} title=${t('New login link')}>
    <form class="form" onSubmit=${submit}>
      <${Field} label=${t('Label (optional)')}><input value=${label} onInput=${(e) => setLabel(e.currentTarget.value)} /><//>
      <label class="field"><span class="label">${t('Permanent (until revoked)')}</span><input type="checkbox" checked=${permanent} onChange=${(e) => setPermanent(e.currentTarget.checked)} /></label>
      <${ErrorNote} error=${action.error} />
      <div class="form-actions"><${Button} kind="primary" type="submit" busy=${action.busy}>${t('Create link')}<//></div>
    </form>
    ${made && html`<${Secret} label=${made.expiresAt ? t('Login link, valid until {at}', { at: fmtTime(made.expiresAt) }) : t('Permanent login link')} value=${made.url} />`}
  <//>`;
}

function Revoke({ row, onDone }) {
  const action = useAction();
  return html`<${ConfirmButton} label=${t('Revoke')} confirmLabel=${t('Yes, revoke')} busy=${action.busy}
    onConfirm=${async () => { await action.run(() => api('DELETE', `/api/auth/tokens/${encodeURIComponent(row.id)}`)); onDone(); }} />
    <${ErrorNote} error=${action.error} />`;
}

export default function Access() {
  const tokens = useLoad(() => get('/api/auth/tokens'));
  return html`<div class="stack">
    <${PageHead} title=${t('API keys & links')} subtitle=${t('Programs use API keys with scopes; people use login links.')} />
    <div class="grid two"><${NewKey} onDone=${tokens.reload} /><${NewLink} onDone=${tokens.reload} /></div>
    <${Card} title=${t('Active keys and permanent links')}>
      <${ErrorNote} error=${tokens.error} />
      ${!tokens.data ? html`<${Spinner} />` : html`<${Table} label=${t('Active keys and permanent links')} rows=${tokens.data} rowKey=${(r) => r.id}
        empty=${t('No API key or permanent link.')} columns=${[
          { label: t('Label'), render: (r) => html`<strong>${r.label || '—'}</strong>` },
          { label: t('Kind'), render: (r) => html`<${Badge} tone=${r.kind === 'api-key' ? 'accent' : 'neutral'}>${t(KINDS[r.kind] || r.kind)}<//>` },
          { label: t('Scopes'), render: (r) => (r.scopes || []).map((s) => html`<${Badge}>${s}<//> `) },
          { label: t('Created'), render: (r) => fmtTime(r.createdAt) },
          { label: t('Last used'), render: (r) => fmtTime(r.lastUsedAt) },
          { label: html`<span class="sr-only">${t('Actions')}</span>`, render: (r) => html`<${Revoke} row=${r} onDone=${tokens.reload} />` },
        ]} />`}
    <//>
  </div>`;
}
