// The panel: checks the session, then shows the shell (navigation, language, theme, logout)
// around the page the URL's hash names. Pages load on demand.
import { html, render, useState, useEffect } from './lib.js';
import { api, onSessionLost } from './api.js';
import { t, LANGS, currentLang, setLang, onLang } from './i18n.js';
import { Icon } from './icons.js';
import { Spinner, ErrorNote } from './ui.js';

export const PAGES = [
  { id: 'dashboard', label: 'Dashboard', load: () => import('./pages/dashboard.js') },
  { id: 'playground', label: 'Chat playground', icon: 'chat', load: () => import('./pages/playground.js') },
  { id: 'channels', label: 'Channels', load: () => import('./pages/channels.js') },
  { id: 'presets', label: 'Presets', load: () => import('./pages/presets.js') },
  { id: 'tools', label: 'Tools', load: () => import('./pages/tools.js') },
  { id: 'extensions', label: 'Extensions', load: () => import('./pages/extensions.js') },
  { id: 'mcp', label: 'MCP servers', load: () => import('./pages/mcp.js') },
  { id: 'skills', label: 'Skills', load: () => import('./pages/skills.js') },
  { id: 'conversations', label: 'Conversations', load: () => import('./pages/conversations.js') },
  { id: 'memories', label: 'Memories', load: () => import('./pages/memories.js') },
  { id: 'groups', label: 'Groups', load: () => import('./pages/groups.js') },
  { id: 'settings', label: 'Settings', load: () => import('./pages/settings.js') },
  { id: 'access', label: 'API keys & links', icon: 'keys', load: () => import('./pages/access.js') },
];

const THEME = 'chatai.theme';
const ICON = new URL('./icon.svg', import.meta.url).href;
function applyTheme(theme) {
  if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}
applyTheme(localStorage.getItem(THEME));

/** `#/tools/calculator` → `{page: 'tools', rest: ['calculator']}`. */
function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const page = PAGES.find((p) => p.id === parts[0]) || PAGES[0];
  return { page, rest: parts.slice(1) };
}

export const go = (...parts) => {
  location.hash = `#/${parts.map(encodeURIComponent).join('/')}`;
};

/** Pages without a session: a refused link, an expired session, after logout, no session. */
function Gate({ reason }) {
  const texts = {
    refused: [t('This login link did not work'), t('Login links work once and for a few minutes. This one is invalid, expired or already used.')],
    expired: [t('Your session has ended'), t('It expired or was revoked. Open a new login link to continue.')],
    'logged-out': [t('You are logged out'), t('Your session is closed on this server. Open a new login link to come back.')],
    none: [t('Open a login link to sign in'), t('The panel has no passwords: a login link signs you in.')],
  };
  const [title, body] = texts[reason] || texts.none;
  return html`<main class="gate" id="main">
    <div class="gate-card card">
      <div class="brand big"><img src=${ICON} alt="" width="40" height="40" /> ChatAI Edge</div>
      <h1>${title}</h1>
      <p>${body}</p>
      <p>${t('Get a new link on the server:')}</p>
      <pre class="json">chatai login-link</pre>
      <p class="muted">${t('or use the link printed when the server starts. API reference:')} <a href="/api/docs">/api/docs</a></p>
      <${Prefs} />
    </div>
  </main>`;
}

function Prefs() {
  const [theme, setTheme] = useState(localStorage.getItem(THEME) || 'auto');
  const pickTheme = (value) => {
    setTheme(value);
    localStorage.setItem(THEME, value);
    applyTheme(value);
  };
  return html`<div class="prefs">
    <label class="compact"><span class="sr-only">${t('Language')}</span>
      <select aria-label=${t('Language')} value=${currentLang()} onChange=${(e) => setLang(e.currentTarget.value)}>
        ${LANGS.map((l) => html`<option value=${l.id}>${l.label}</option>`)}
      </select></label>
    <label class="compact"><span class="sr-only">${t('Theme')}</span>
      <select aria-label=${t('Theme')} value=${theme} onChange=${(e) => pickTheme(e.currentTarget.value)}>
        <option value="auto">${t('Auto')}</option>
        <option value="light">${t('Light')}</option>
        <option value="dark">${t('Dark')}</option>
      </select></label>
  </div>`;
}

function PageView({ page, rest, user }) {
  const [mod, setMod] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let live = true;
    setMod(null);
    setError(null);
    page.load().then((m) => live && setMod(m), (e) => live && setError(e));
    document.title = `${t(page.label)} · ChatAI Edge`;
    return () => {
      live = false;
    };
  }, [page]);
  if (error) return html`<${ErrorNote} error=${error} />`;
  if (!mod) return html`<${Spinner} />`;
  const Page = mod.default;
  return html`<${Page} rest=${rest} user=${user} />`;
}

function Shell({ user, onLogout }) {
  const [where, setWhere] = useState(route());
  const [menu, setMenu] = useState(false);
  const [logoutError, setLogoutError] = useState(null);
  useEffect(() => {
    const onHash = () => {
      setWhere(route());
      setMenu(false);
      const main = document.getElementById('main');
      if (main) main.focus({ preventScroll: true });
      window.scrollTo(0, 0);
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  const logout = async () => {
    try {
      await api('POST', '/api/auth/logout');
      onLogout();
    } catch (e) {
      setLogoutError(e);
    }
  };
  return html`<div class=${`shell${menu ? ' menu-open' : ''}`}>
    <a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); document.getElementById('main').focus(); }}>${t('Skip to content')}</a>
    <header class="topbar">
      <button class="btn ghost icon menu-button" type="button" aria-label=${t('Menu')} aria-expanded=${menu ? 'true' : 'false'}
        aria-controls="nav" onClick=${() => setMenu(!menu)}><${Icon} name="menu" /></button>
      <a class="brand" href="#/dashboard" aria-label="ChatAI Edge"><img src=${ICON} alt="" width="28" height="28" /><span>ChatAI Edge</span></a>
      <div class="topbar-end">
        <${Prefs} />
        <span class="user muted" title=${user.userId}>${user.username}</span>
        <button class="btn ghost" type="button" aria-label=${t('Log out')} onClick=${logout}><${Icon} name="logout" /><span class="hide-narrow">${t('Log out')}</span></button>
      </div>
    </header>
    ${logoutError && html`<${ErrorNote} error=${logoutError} />`}
    <nav id="nav" class="nav" aria-label=${t('Sections')}>
      <ul>${PAGES.map((p) => html`<li><a href=${`#/${p.id}`} aria-current=${where.page.id === p.id ? 'page' : undefined}>
        <${Icon} name=${p.icon || p.id} /><span>${t(p.label)}</span></a></li>`)}</ul>
    </nav>
    <main id="main" class="main" tabindex="-1">
      <${PageView} key=${where.page.id} page=${where.page} rest=${where.rest} user=${user} />
    </main>
  </div>`;
}

function App() {
  const [session, setSession] = useState({ phase: 'checking' });
  const [lang, setLangState] = useState(currentLang());
  useEffect(() => onLang(setLangState), []);
  useEffect(() => onSessionLost(() => setSession({ phase: 'out', reason: 'expired' })), []);
  useEffect(() => {
    if (location.pathname === '/login') {
      setSession({ phase: 'out', reason: new URLSearchParams(location.search).get('error') ? 'refused' : 'none' });
      return;
    }
    api('GET', '/api/auth/verify').then(
      (user) => setSession({ phase: 'in', user }),
      (error) => setSession(error.status === 401 ? { phase: 'out', reason: 'none' } : { phase: 'error', error }),
    );
  }, []);
  if (session.phase === 'checking') return html`<div class="boot"><${Spinner} /></div>`;
  if (session.phase === 'error') return html`<main class="gate" id="main"><div class="gate-card card"><h1>ChatAI Edge</h1><${ErrorNote} error=${session.error} /></div></main>`;
  if (session.phase === 'out') return html`<${Gate} key=${lang} reason=${session.reason} />`;
  return html`<${Shell} key=${lang} user=${session.user} onLogout=${() => setSession({ phase: 'out', reason: 'logged-out' })} />`;
}

render(html`<${App} />`, document.getElementById('app'));
