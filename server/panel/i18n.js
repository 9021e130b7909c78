// Chinese and English. English text is the key; `zh.js` maps it to Chinese. The language comes
// from the browser unless the user picked one (kept in localStorage).
import { ZH } from './zh.js';

const STORE = 'chatai.lang';
export const LANGS = [
  { id: 'en', label: 'English' },
  { id: 'zh', label: '中文' },
];

function initial() {
  const saved = localStorage.getItem(STORE);
  if (saved === 'en' || saved === 'zh') return saved;
  return (navigator.languages || [navigator.language || 'en']).some((l) => /^zh\b/i.test(l)) ? 'zh' : 'en';
}

let lang = initial();
document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
const listeners = new Set();

export const currentLang = () => lang;
export function setLang(next) {
  lang = next;
  localStorage.setItem(STORE, next);
  document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en';
  for (const fn of listeners) fn(next);
}
export function onLang(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Translates `text`, filling `{name}` placeholders from `vars`. */
export function t(text, vars) {
  let out = (lang === 'zh' && ZH[text]) || text;
  if (vars) for (const [k, v] of Object.entries(vars)) out = out.split(`{${k}}`).join(String(v));
  return out;
}

/** Dates and numbers in the UI language. */
export function fmtTime(value) {
  if (value === null || value === undefined || value === '') return '—';
  const d = typeof value === 'number' ? new Date(value) : new Date(String(value));
  if (Number.isNaN(d.getTime())) return String(value);
  return d.toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', { dateStyle: 'short', timeStyle: 'medium' });
}
export const fmtNum = (n) => (n === null || n === undefined ? '—' : Number(n).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-US'));
export function fmtBytes(n) {
  if (!n && n !== 0) return '—';
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
}
export function fmtDuration(secs) {
  const d = Math.floor(secs / 86400);
  const h = Math.floor((secs % 86400) / 3600);
  const m = Math.floor((secs % 3600) / 60);
  if (d) return t('{d}d {h}h', { d, h });
  if (h) return t('{h}h {m}m', { h, m });
  return t('{m}m {s}s', { m, s: secs % 60 });
}
