// Presets: the bot's personas (system prompt, model, sampling, tools, context length). Builtins
// are read-only and can be copied.
import { html, useState } from '../lib.js';
import { api, get } from '../api.js';
import { t } from '../i18n.js';
import { useLoad, useAction, ErrorNote, Spinner, PageHead, Badge, Button, ConfirmButton, Field, Modal, splitList } from '../ui.js';

/** An id from a name: `Tea assistant` → `tea-assistant` (a name without Latin letters gets one). */
function slug(name) {
  const id = name.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64);
  return id || `preset-${Date.now().toString(36)}`;
}

function PresetForm({ preset, copyOf, onSaved, onClose }) {
  const src = preset || copyOf || {};
  const [v, setV] = useState(() => ({
    id: '', name: copyOf ? `${src.name} (copy)` : src.name || '', description: src.description || '', category: src.category || 'custom',
    systemPrompt: src.systemPrompt || '', model: src.model || '', temperature: src.temperature ?? '', maxTokens: src.maxTokens ?? '',
    allowed: (src.tools?.allowed || []).join(', '), disabled: (src.tools?.disabled || []).join(', '), maxMessages: src.context?.maxMessages ?? '',
  }));
  const action = useAction();
  const set = (k) => (e) => setV({ ...v, [k]: e.currentTarget.value });
  const submit = async (e) => {
    e.preventDefault();
    const num = (x) => (x === '' ? null : Number(x));
    const body = {
      name: v.name.trim(), description: v.description, category: v.category, systemPrompt: v.systemPrompt, model: v.model.trim() || null,
      temperature: num(v.temperature), maxTokens: num(v.maxTokens), tools: { allowed: splitList(v.allowed), disabled: splitList(v.disabled) },
      context: { maxMessages: num(v.maxMessages) },
    };
    if (copyOf) body.from = copyOf.id;
    if (!preset) body.id = v.id.trim() || slug(body.name);
    const out = await action.run(() => (preset ? api('PUT', `/api/presets/${encodeURIComponent(preset.id)}`, body) : api('POST', '/api/presets', body)));
    if (out) onSaved(out);
  };
  return html`<${Modal} wide title=${preset ? t('Edit {name}', { name: preset.name }) : copyOf ? t('Copy of {name}', { name: copyOf.name }) : t('New preset')} onClose=${onClose}>
    <form class="form" onSubmit=${submit}>
      <${Field} label=${t('Name')}><input required value=${v.name} onInput=${set('name')} /><//>
      ${!preset && html`<${Field} label=${t('Id (optional)')} hint=${t('Letters, digits, ., _ or -; made from the name when empty.')}><input class="code" value=${v.id} onInput=${set('id')} /><//>`}
      <${Field} label=${t('Category')}><input value=${v.category} onInput=${set('category')} /><//>
      <${Field} label=${t('Description')} wide><input value=${v.description} onInput=${set('description')} /><//>
      <${Field} label=${t('System prompt')} hint=${t('Variables: {{user}}, {{date}}, {{time}}, {{bot_name}}')} wide><textarea rows="6" value=${v.systemPrompt} onInput=${set('systemPrompt')}></textarea><//>
      <${Field} label=${t('Model')}><input class="code" value=${v.model} onInput=${set('model')} /><//>
      <${Field} label=${t('Temperature')}><input type="number" step="0.1" min="0" max="2" value=${v.temperature} onInput=${set('temperature')} /><//>
      <${Field} label=${t('Max tokens')}><input type="number" min="1" value=${v.maxTokens} onInput=${set('maxTokens')} /><//>
      <${Field} label=${t('Context: max messages')}><input type="number" min="0" value=${v.maxMessages} onInput=${set('maxMessages')} /><//>
      <${Field} label=${t('Allowed tools (empty: all)')}><input class="code" value=${v.allowed} onInput=${set('allowed')} /><//>
      <${Field} label=${t('Disabled tools')}><input class="code" value=${v.disabled} onInput=${set('disabled')} /><//>
      <${ErrorNote} error=${action.error} />
      <div class="form-actions"><${Button} type="button" kind="ghost" onClick=${onClose}>${t('Cancel')}<//><${Button} kind="primary" type="submit" busy=${action.busy}>${t('Save')}<//></div>
    </form>
  <//>`;
}

function Preset({ p, onEdit, onCopy, onChanged }) {
  const action = useAction();
  return html`<li class="item" aria-label=${p.name}>
    <div class="item-head"><h2>${p.name}</h2><${Badge}>${p.category}<//>${p.isBuiltin && html`<${Badge} tone="accent">${t('builtin')}<//>`}
      ${p.isDefault && html`<${Badge} tone="good">${t('default')}<//>`}<span class="spacer"></span>
      ${!p.isDefault && html`<${Button} busy=${action.busy} onClick=${() => action.run(async () => { await api('POST', `/api/presets/${encodeURIComponent(p.id)}/default`, {}); onChanged(); })}>${t('Make default')}<//>`}
      ${p.isBuiltin ? html`<${Button} onClick=${onCopy}>${t('Copy')}<//>` : html`<${Button} onClick=${onEdit}>${t('Edit')}<//>
        <${ConfirmButton} label=${t('Delete')} onConfirm=${() => action.run(async () => { await api('DELETE', `/api/presets/${encodeURIComponent(p.id)}`); onChanged(); })} />`}</div>
    <p class="muted">${p.description}</p>
    <details><summary>${t('System prompt')}</summary><pre class="json">${p.systemPrompt}</pre></details>
    <${ErrorNote} error=${action.error} />
  </li>`;
}

export default function Presets() {
  const list = useLoad(() => get('/api/presets'));
  const [form, setForm] = useState(null);
  return html`<div class="stack">
    <${PageHead} title=${t('Presets')} subtitle=${t('Personas the chat uses: prompt, model, tools and context.')}
      actions=${html`<${Button} kind="primary" onClick=${() => setForm({})}>${t('New preset')}<//>`} />
    <${ErrorNote} error=${list.error} />
    ${!list.data ? html`<${Spinner} />` : html`<ul class="list">${list.data.map((p) => html`<${Preset} key=${p.id} p=${p} onChanged=${list.reload}
      onEdit=${() => setForm({ preset: p })} onCopy=${() => setForm({ copyOf: p })} />`)}</ul>`}
    ${form && html`<${PresetForm} preset=${form.preset} copyOf=${form.copyOf} onClose=${() => setForm(null)} onSaved=${() => { setForm(null); list.reload(); }} />`}
  </div>`;
}
