// A form generated from a tool's JSON Schema (object of properties): strings, numbers with
// their bounds, booleans, enums as selects, anything else as JSON. Submits the arguments object.
import { html, useState } from './lib.js';
import { t } from './i18n.js';
import { Field, Button } from './ui.js';

function initial(schema) {
  const out = {};
  for (const [name, prop] of Object.entries(schema.properties || {})) {
    if (prop.default !== undefined) out[name] = typeof prop.default === 'object' ? JSON.stringify(prop.default) : prop.default;
  }
  return out;
}

const kindOf = (prop) => {
  const type = Array.isArray(prop.type) ? prop.type.find((x) => x !== 'null') : prop.type;
  if (prop.enum) return 'enum';
  return type || 'json';
};

/** Turns the form's values into arguments; returns `[args, errors]`. */
function collect(schema, values) {
  const args = {};
  const errors = {};
  const required = new Set(schema.required || []);
  for (const [name, prop] of Object.entries(schema.properties || {})) {
    const raw = values[name];
    const kind = kindOf(prop);
    if (raw === undefined || raw === '') {
      if (required.has(name) && kind !== 'boolean') errors[name] = t('Required');
      if (kind === 'boolean' && raw !== undefined) args[name] = raw;
      continue;
    }
    if (kind === 'integer' || kind === 'number') {
      const n = Number(raw);
      if (Number.isNaN(n)) errors[name] = t('A number');
      else args[name] = n;
    } else if (kind === 'string' || kind === 'enum' || kind === 'boolean') {
      args[name] = raw;
    } else {
      try {
        args[name] = JSON.parse(raw);
      } catch {
        errors[name] = t('Not valid JSON');
      }
    }
  }
  return [args, errors];
}

export function SchemaForm({ schema, onSubmit, busy, submitLabel, idPrefix = 'arg' }) {
  const [values, setValues] = useState(() => initial(schema || {}));
  const [errors, setErrors] = useState({});
  const props = Object.entries((schema && schema.properties) || {});
  const required = new Set((schema && schema.required) || []);
  const set = (name, value) => setValues((v) => ({ ...v, [name]: value }));
  const submit = (e) => {
    e.preventDefault();
    const [args, errs] = collect(schema || {}, values);
    setErrors(errs);
    if (!Object.keys(errs).length) onSubmit(args);
  };
  return html`<form class="form" onSubmit=${submit} noValidate>
    ${!props.length && html`<p class="muted wide">${t('This tool takes no arguments.')}</p>`}
    ${props.map(([name, prop]) => {
      const kind = kindOf(prop);
      const label = html`${name}${required.has(name) && html`<span class="req" aria-hidden="true"> *</span>`}`;
      const bounds = [prop.minimum !== undefined && `≥ ${prop.minimum}`, prop.maximum !== undefined && `≤ ${prop.maximum}`].filter(Boolean).join(', ');
      const hint = [prop.description, bounds].filter(Boolean).join(' · ');
      const common = { name, id: `${idPrefix}-${name}`, 'aria-required': required.has(name) ? 'true' : undefined, 'aria-invalid': errors[name] ? 'true' : undefined };
      let control;
      if (kind === 'boolean') {
        control = html`<select ...${common} value=${values[name] === undefined ? '' : String(values[name])}
          onChange=${(e) => set(name, e.currentTarget.value === '' ? undefined : e.currentTarget.value === 'true')}>
          <option value="">${t('(not set)')}</option><option value="true">true</option><option value="false">false</option></select>`;
      } else if (kind === 'enum') {
        control = html`<select ...${common} value=${values[name] ?? ''} onChange=${(e) => set(name, e.currentTarget.value)}>
          <option value="">${t('(not set)')}</option>${prop.enum.map((v) => html`<option value=${v}>${v}</option>`)}</select>`;
      } else if (kind === 'integer' || kind === 'number') {
        control = html`<input ...${common} type="number" inputmode="decimal" step=${kind === 'integer' ? 1 : 'any'} min=${prop.minimum} max=${prop.maximum}
          value=${values[name] ?? ''} onInput=${(e) => set(name, e.currentTarget.value)} />`;
      } else if (kind === 'string' && !(prop.maxLength > 200) && prop.format !== 'textarea') {
        control = html`<input ...${common} type="text" value=${values[name] ?? ''} onInput=${(e) => set(name, e.currentTarget.value)} />`;
      } else {
        control = html`<textarea ...${common} class="code" placeholder=${kind === 'string' ? '' : 'JSON'} value=${values[name] ?? ''} onInput=${(e) => set(name, e.currentTarget.value)}></textarea>`;
      }
      return html`<${Field} label=${label} hint=${hint} error=${errors[name]} wide=${kind === 'object' || kind === 'array' || kind === 'json'}>${control}<//>`;
    })}
    <div class="form-actions"><${Button} kind="primary" type="submit" busy=${busy}>${submitLabel || t('Call')}<//></div>
  </form>`;
}
