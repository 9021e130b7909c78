// Dashboard: the server's status, activity over a period, and what happens now (the event bus).
import { html, useState, useEffect } from '../lib.js';
import { get, follow } from '../api.js';
import { t, fmtNum, fmtBytes, fmtDuration } from '../i18n.js';
import { useLoad, ErrorNote, Spinner, Card, PageHead, Stat, Bars, DayChart, Empty, Badge, Button } from '../ui.js';

const EVENTS = ['tool_update', 'extension_changed', 'config_changed', 'tool_progress', 'mcp_connected',
  'mcp_disconnected', 'mcp_error', 'mcp_tools_updated', 'category_toggle', 'skill_progress', 'skill_done'];

function describe(name, d) {
  switch (name) {
    case 'tool_update': return `${d.source}/${d.provider}: ${(d.tools || []).join(', ') || t('removed')}`;
    case 'extension_changed': return `${d.name}: ${d.action}`;
    case 'config_changed': return (d.keys || []).join(', ');
    case 'tool_progress': return `${d.tool} ${d.done}${d.total ? `/${d.total}` : ''} ${d.message || ''}`;
    case 'category_toggle': return `${d.category}: ${d.enabled ? t('on') : t('off')}`;
    case 'skill_progress': return `${d.skill}: ${d.step && d.step.kind}`;
    case 'skill_done': return `${d.skill}: ${d.ok === false ? t('failed') : t('done')}`;
    default: return d.server ? `${d.server}: ${d.status}${d.error ? ` (${d.error})` : ''}` : JSON.stringify(d);
  }
}

function LiveEvents() {
  const [events, setEvents] = useState([]);
  const [state, setState] = useState('connecting');
  useEffect(() => follow('/api/system/events', EVENTS, (name, data) => {
    setEvents((list) => [{ name, data, at: new Date() }, ...list].slice(0, 50));
  }, setState), []);
  return html`<${Card} title=${t('Live events')} actions=${html`<${Badge} tone=${state === 'open' ? 'good' : 'warn'}>${state === 'open' ? t('live') : t(state)}<//>`}>
    ${events.length
      ? html`<ul class="events" aria-live="polite">${events.map((e) => html`<li><time>${e.at.toLocaleTimeString()}</time><${Badge} tone="accent">${e.name}<//><span class="what" title=${describe(e.name, e.data)}>${describe(e.name, e.data)}</span></li>`)}</ul>`
      : html`<${Empty}>${t('Waiting for events: install an extension, change a setting or call a tool.')}<//>`}
  <//>`;
}

const DAYS = { day: 1, week: 7, month: 30 };

/** Every day of the period (UTC, as the API counts), with zeros where nothing happened. */
function fillDays(byDay, period) {
  const have = new Map(byDay.map((d) => [d.date, d]));
  const out = [];
  for (let i = DAYS[period] - 1; i >= 0; i -= 1) {
    const date = new Date(Date.now() - i * 86400000).toISOString().slice(0, 10);
    out.push(have.get(date) || { date, messages: 0, tokens: 0, toolCalls: 0 });
  }
  return out;
}

export default function Dashboard() {
  const [period, setPeriod] = useState('week');
  const status = useLoad(() => get('/api/system/status'));
  const stats = useLoad(() => get(`/api/system/stats?period=${period}`), [period]);
  const s = status.data;
  const st = stats.data;
  useEffect(() => {
    // When the dashboard first shows real data (the browser tests report it in BENCHMARKS.md).
    if (s && st && !performance.getEntriesByName('chatai:dashboard-ready').length) performance.mark('chatai:dashboard-ready');
  }, [s, st]);
  return html`<div class="stack" data-ready=${s && st ? 'true' : undefined}>
    <${PageHead} title=${t('Dashboard')} subtitle=${s ? t('Version {v}, up {u}', { v: s.version, u: fmtDuration(s.uptimeSecs) }) : ''}
      actions=${html`<label class="compact"><span class="sr-only">${t('Period')}</span><select aria-label=${t('Period')} value=${period} onChange=${(e) => setPeriod(e.currentTarget.value)}>
        <option value="day">${t('Today')}</option><option value="week">${t('Last 7 days')}</option><option value="month">${t('Last 30 days')}</option></select></label>
        <${Button} onClick=${() => { status.reload(); stats.reload(); }}>${t('Refresh')}<//>`} />
    <${ErrorNote} error=${status.error} />
    ${!s ? html`<${Spinner} />` : html`<div class="grid stats" aria-label=${t('Status')} role="group">
      <${Stat} label=${t('Database')} value=${html`<${Badge} tone=${s.db.ok ? 'good' : 'bad'}>${s.db.ok ? t('ok') : t('unreachable')}<//>`} hint=${s.db.engine} />
      <${Stat} label=${t('Tools')} value=${fmtNum(s.tools)} hint=${t('{b} builtin, {c} custom extensions', { b: s.extensions.builtin, c: s.extensions.custom })} />
      <${Stat} label=${t('Skills')} value=${fmtNum(s.skills)} />
      <${Stat} label=${t('MCP servers')} value=${`${s.mcp.connected} / ${s.mcp.total}`} hint=${t('connected')} />
      <${Stat} label=${t('Channels')} value=${`${s.channels.enabled} / ${s.channels.total}`} hint=${t('enabled')} />
      <${Stat} label=${t('Memory')} value=${fmtBytes(s.memory.rssBytes)} hint=${t('resident')} />
    </div>`}
    <${ErrorNote} error=${stats.error} />
    ${st && html`<div class="grid stats" role="group" aria-label=${t('Activity')}>
      <${Stat} label=${t('Messages')} value=${fmtNum(st.messages)} />
      <${Stat} label=${t('Tokens')} value=${fmtNum(st.tokens)} />
      <${Stat} label=${t('Tool calls')} value=${fmtNum(st.toolCalls)} />
      <${Stat} label=${t('Failed calls')} value=${fmtNum(st.errors)} />
    </div>
    <div class="grid two">
      <${Card} title=${t('Activity by day')}>
        <${DayChart} label=${t('Activity by day')} days=${fillDays(st.byDay, period)} series=${[{ key: 'messages', label: t('Messages') }, { key: 'toolCalls', label: t('Tool calls') }]} />
      <//>
      <${Card} title=${t('Calls per tool')}>
        <${Bars} label=${t('Calls per tool')} items=${st.byTool.slice(0, 10).map((x) => ({ label: x.tool, value: x.calls }))} />
      <//>
      <${Card} title=${t('Average latency per tool')}>
        <${Bars} label=${t('Average latency per tool')} items=${st.byTool.slice(0, 10).map((x) => ({ label: x.tool, value: x.avgMs, tone: 'alt' }))}
          format=${(v) => `${v < 10 ? v.toFixed(2) : Math.round(v)} ms`} />
      <//>
      <${Card} title=${t('Tokens per channel')}>
        <${Bars} label=${t('Tokens per channel')} items=${st.byChannel.map((x) => ({ label: x.channel, value: x.promptTokens + x.completionTokens }))} />
      <//>
    </div>`}
    <${LiveEvents} />
  </div>`;
}
