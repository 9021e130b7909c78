// Skills: run one with its input form and watch its steps live; categories on and off.
import { html, useState } from '../lib.js';
import { api, get, postStream } from '../api.js';
import { t } from '../i18n.js';
import { useLoad, useAction, ErrorNote, Spinner, Card, PageHead, Badge, Toggle, Json, Empty } from '../ui.js';
import { SchemaForm } from '../schema-form.js';

function stepText(s) {
  switch (s.kind) {
    case 'tool': return html`<${Badge} tone="accent">${t('tool')}<//> <span class="mono">${s.name}</span> ${s.ok ? '✓' : '✗'} ${s.durationMs ?? ''} ms — ${String(s.result ?? s.error ?? '').slice(0, 160)}`;
    case 'llm': return html`<${Badge} tone="accent">LLM<//> ${s.channel || ''} ${s.model || ''} — ${String(s.content ?? s.error ?? '').slice(0, 160)}`;
    case 'log': return html`<${Badge}>${s.level}<//> ${s.message}`;
    default: return html`<${Badge}>${t('progress')}<//> ${s.done}${s.total ? `/${s.total}` : ''} ${s.message || ''}`;
  }
}

function Run({ skill }) {
  const [steps, setSteps] = useState([]);
  const [done, setDone] = useState(null);
  const action = useAction();
  const run = async (input) => {
    setSteps([]);
    setDone(null);
    await action.run(() => postStream(`/api/skills/${encodeURIComponent(skill.name)}/run?stream=true`, { input }, (name, d) => {
      if (name === 'step') setSteps((xs) => [...xs, d]);
      if (name === 'skill_done') setDone(d);
    }));
  };
  return html`<${Card} title=${html`<span class="mono">${skill.name}</span>`} headingLevel=${2}>
    <p>${skill.description}</p>
    <${SchemaForm} key=${skill.name} schema=${skill.inputSchema} busy=${action.busy} onSubmit=${run} submitLabel=${t('Run')} idPrefix="input" />
    <${ErrorNote} error=${action.error} />
    ${(steps.length > 0 || action.busy) && html`<h3>${t('Steps')}</h3><ol class="steps" aria-live="polite">${steps.map((s) => html`<li>${stepText(s)}</li>`)}</ol>`}
    ${done && (done.error ? html`<${ErrorNote} error=${{ message: done.error, code: done.code }} />`
      : html`<h3>${t('Result')}</h3><pre class="json">${done.result}</pre>${done.structured && html`<${Json} value=${done.structured} />`}`)}
  <//>`;
}

function Categories() {
  const cats = useLoad(() => get('/api/skills/categories'));
  const action = useAction();
  const flip = async (name, enabled) => {
    if ((await action.run(() => api('POST', '/api/skills/toggle-category', { category: name, enabled }))) !== undefined) cats.reload();
  };
  return html`<${Card} title=${t('Tool categories')}>
    <${ErrorNote} error=${cats.error || action.error} />
    ${!cats.data ? html`<${Spinner} />` : html`<ul class="list">${cats.data.map((c) => html`<li class="row">
      <${Toggle} label=${`${c.label || c.name} (${c.toolCount})`} checked=${c.enabled} onChange=${(on) => flip(c.name, on)} /></li>`)}</ul>`}
  <//>`;
}

export default function Skills() {
  const skills = useLoad(() => get('/api/skills'));
  const [picked, setPicked] = useState(null);
  const list = skills.data || [];
  const skill = list.find((s) => s.name === picked) || list[0];
  return html`<div class="stack">
    <${PageHead} title=${t('Skills')} subtitle=${t('Multi-step extensions that call tools and the LLM on their own.')} />
    <${ErrorNote} error=${skills.error} />
    <div class="split">
      <div class="stack">
        <${Card} title=${t('Installed skills')}>
          ${!skills.data ? html`<${Spinner} />` : list.length ? html`<ul class="list">${list.map((s) => html`<li>
            <button type="button" class=${`item pick${skill && skill.name === s.name ? ' selected' : ''}`} aria-pressed=${skill && skill.name === s.name ? 'true' : 'false'} onClick=${() => setPicked(s.name)}>
              <span class="item-head"><strong class="mono">${s.name}</strong><${Badge} tone="accent">${s.source}<//>${!s.enabled && html`<${Badge}>${t('disabled')}<//>`}</span>
              <span class="muted clip2">${s.description}</span></button></li>`)}</ul>` : html`<${Empty}>${t('No skill installed.')}<//>`}
        <//>
        <${Categories} />
      </div>
      <div>${skill ? html`<${Run} key=${skill.name} skill=${skill} />` : null}</div>
    </div>
  </div>`;
}
