// Shared pieces of every page: data loading, errors, fields, tables, dialogs, charts.
import { html, useState, useEffect, useRef, useCallback } from './lib.js';
import { t, fmtNum } from './i18n.js';

/** Loads with `fn` when `deps` change: `{data, error, loading, reload, setData}`. */
export function useLoad(fn, deps = []) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const seq = useRef(0);
  const reload = useCallback(async () => {
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    try {
      const data = await fn();
      if (mine === seq.current) setState({ data, error: null, loading: false });
    } catch (error) {
      if (mine === seq.current) setState((s) => ({ data: s.data, error, loading: false }));
    }
  }, deps);
  useEffect(() => {
    reload();
  }, [reload]);
  const setData = (update) => setState((s) => ({ ...s, data: typeof update === 'function' ? update(s.data) : update }));
  return { ...state, reload, setData };
}

/** Runs an action with a busy flag and its error kept next to the control that started it. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = async (fn) => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, setError };
}

/** An API error as the user sees it: the message, and the code for searching the docs. */
export function ErrorNote({ error, id }) {
  if (!error) return null;
  const retry = error.retryAfter ? ` ${t('Try again in {s} s.', { s: error.retryAfter })}` : '';
  return html`<div class="note error" role="alert" id=${id}>
    <strong>${t(error.message || String(error))}</strong>${retry}
    ${error.code && html` <code class="code">${error.code}</code>`}
    ${error.details && typeof error.details === 'object' && html`<details><summary>${t('Details')}</summary><pre>${JSON.stringify(error.details, null, 2)}</pre></details>`}
  </div>`;
}

export function Spinner({ label }) {
  return html`<span class="spinner" role="status"><span class="spin" aria-hidden="true"></span>${label || t('Loading…')}</span>`;
}

export function Button({ kind = 'secondary', busy, children, busyLabel, ...rest }) {
  return html`<button class=${`btn ${kind}`} disabled=${busy || rest.disabled} aria-busy=${busy ? 'true' : undefined} ...${rest}>
    ${busy && html`<span class="spin" aria-hidden="true"></span>`}${busy && busyLabel ? busyLabel : children}
  </button>`;
}

/** A labelled control: the label wraps it, so it is the control's accessible name. */
export function Field({ label, hint, error, children, wide }) {
  return html`<label class=${`field${wide ? ' wide' : ''}`}>
    <span class="label">${label}</span>
    ${children}
    ${hint && html`<span class="hint">${hint}</span>`}
    ${error && html`<span class="field-error" role="alert">${error}</span>`}
  </label>`;
}

export function Toggle({ label, checked, onChange, disabled }) {
  return html`<label class="toggle">
    <input type="checkbox" role="switch" checked=${checked} disabled=${disabled} onChange=${(e) => onChange(e.currentTarget.checked)} />
    <span class="track" aria-hidden="true"></span>
    <span class="toggle-label">${label}</span>
  </label>`;
}

export function Badge({ tone = 'neutral', children }) {
  return html`<span class=${`badge ${tone}`}>${children}</span>`;
}

const STATUS_TONES = {
  ok: 'good', connected: 'good', enabled: 'good', true: 'good',
  connecting: 'warn', cooldown: 'warn', reconnecting: 'warn',
  error: 'bad', key_refused: 'bad', false: 'bad',
  disconnected: 'neutral', disabled: 'neutral',
};
export function Status({ value }) {
  return html`<${Badge} tone=${STATUS_TONES[value] || 'neutral'}>${t(String(value))}<//>`;
}

export function Card({ title, actions, children, class: cls = '', headingLevel = 2 }) {
  const Heading = `h${headingLevel}`;
  return html`<section class=${`card ${cls}`} aria-label=${typeof title === 'string' ? title : undefined}>
    ${(title || actions) && html`<header class="card-head">${title && html`<${Heading} class="card-title">${title}<//>`}<div class="actions">${actions}</div></header>`}
    ${children}
  </section>`;
}

export function PageHead({ title, subtitle, actions }) {
  return html`<header class="page-head">
    <div><h1>${title}</h1>${subtitle && html`<p class="muted">${subtitle}</p>`}</div>
    <div class="actions">${actions}</div>
  </header>`;
}

export function Empty({ children }) {
  return html`<p class="empty">${children}</p>`;
}

/** A table in a focusable scroll region (keyboard users can scroll it too). */
export function Table({ label, columns, rows, empty, rowKey = (r, i) => i, onRow, selected }) {
  if (!rows || !rows.length) return html`<${Empty}>${empty || t('Nothing here yet.')}<//>`;
  return html`<div class="table-wrap" role="region" aria-label=${label} tabindex="0">
    <table>
      <thead><tr>${columns.map((c) => html`<th scope="col" class=${c.class}>${c.label}</th>`)}</tr></thead>
      <tbody>${rows.map((row, i) => html`<tr key=${rowKey(row, i)} class=${selected && selected === rowKey(row, i) ? 'selected' : ''}
          onClick=${onRow ? () => onRow(row) : undefined}>
        ${columns.map((c) => html`<td class=${c.class} data-label=${typeof c.label === 'string' ? c.label : undefined}>${c.render ? c.render(row) : row[c.key]}</td>`)}
      </tr>`)}</tbody>
    </table>
  </div>`;
}

/** A modal dialog (native `<dialog>`: focus trap, Escape closes). */
export function Modal({ title, onClose, children, wide }) {
  const ref = useRef(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog && dialog.open && dialog.close();
  }, []);
  return html`<dialog ref=${ref} class=${`modal${wide ? ' wide' : ''}`} aria-label=${title} onClose=${onClose} onCancel=${onClose}>
    <header class="card-head"><h2 class="card-title">${title}</h2>
      <button class="btn ghost icon" type="button" aria-label=${t('Close')} onClick=${onClose}>✕</button></header>
    <div class="modal-body">${children}</div>
  </dialog>`;
}

/** A delete button that asks once more, inline. */
export function ConfirmButton({ label, confirmLabel, onConfirm, busy }) {
  const [asking, setAsking] = useState(false);
  if (!asking) return html`<${Button} kind="danger-ghost" busy=${busy} onClick=${() => setAsking(true)}>${label}<//>`;
  return html`<span class="confirm">
    <${Button} kind="danger" busy=${busy} onClick=${async () => { await onConfirm(); setAsking(false); }}>${confirmLabel || t('Yes, delete')}<//>
    <${Button} kind="ghost" onClick=${() => setAsking(false)}>${t('Cancel')}<//>
  </span>`;
}

export function Json({ value, label }) {
  return html`<pre class="json" tabindex="0" aria-label=${label || t('JSON')}>${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}</pre>`;
}

export function Stat({ label, value, hint, tone }) {
  return html`<div class=${`stat ${tone || ''}`}><span class="stat-label">${label}</span><strong class="stat-value">${value}</strong>${hint && html`<span class="hint">${hint}</span>`}</div>`;
}

/** Horizontal bars: one per item, the value written out (the bars are decoration). */
export function Bars({ items, format = fmtNum, label }) {
  if (!items.length) return html`<${Empty}>${t('No data in this period.')}<//>`;
  const max = Math.max(...items.map((i) => i.value), 1);
  return html`<ul class="bars" aria-label=${label}>
    ${items.map((i) => html`<li><span class="bar-label" title=${i.label}>${i.label}</span>
      <span class="bar-track" aria-hidden="true"><span class=${`bar ${i.tone || ''}`} style=${`width:${Math.max(2, (i.value / max) * 100)}%`}></span></span>
      <span class="bar-value">${format(i.value)}</span></li>`)}
  </ul>`;
}

/** Columns per day for one or two series, drawn in SVG, with the numbers in its title. */
export function DayChart({ days, series, label }) {
  if (!days.length) return html`<${Empty}>${t('No data in this period.')}<//>`;
  const w = 600;
  const hgt = 160;
  const pad = 24;
  const max = Math.max(1, ...days.flatMap((d) => series.map((s) => d[s.key] || 0)));
  const slot = (w - pad) / days.length;
  const bw = Math.max(3, (slot * 0.7) / series.length);
  const summary = days.map((d) => `${d.date}: ${series.map((s) => `${s.label} ${d[s.key] || 0}`).join(', ')}`).join('; ');
  return html`<figure class="chart">
    <svg viewBox=${`0 0 ${w} ${hgt + 20}`} role="img" aria-label=${`${label}. ${summary}`}>
      <line x1=${pad} y1=${hgt} x2=${w} y2=${hgt} class="axis" />
      <text x="0" y="12" class="tick">${fmtNum(max)}</text>
      ${days.map((d, i) => series.map((s, j) => {
        const v = d[s.key] || 0;
        const bh = (v / max) * (hgt - 16);
        return html`<rect x=${pad + i * slot + slot * 0.15 + j * bw} y=${hgt - bh} width=${bw - 1} height=${bh} class=${`series-${j}`}><title>${d.date} ${s.label}: ${v}</title></rect>`;
      }))}
      ${days.map((d, i) => (days.length <= 10 || i % Math.ceil(days.length / 8) === 0) && html`<text x=${pad + i * slot + slot / 2} y=${hgt + 16} class="tick" text-anchor="middle">${d.date.slice(5)}</text>`)}
    </svg>
    <figcaption class="legend">${series.map((s, j) => html`<span><i class=${`swatch series-${j}`} aria-hidden="true"></i>${s.label}</span>`)}</figcaption>
  </figure>`;
}

/** Splits "a, b\nc" into ["a", "b", "c"]. */
export const splitList = (text) => String(text || '').split(/[\n,]/).map((s) => s.trim()).filter(Boolean);

/** Parses "KEY=value" lines into an object. */
export function parsePairs(text, sep = '=') {
  const out = {};
  for (const line of String(text || '').split('\n')) {
    const i = line.indexOf(sep);
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}
export const pairsText = (obj, sep = '=') => Object.entries(obj || {}).map(([k, v]) => `${k}${sep}${v}`).join('\n');
