// The shell: login with an API key (kept in sessionStorage only), navigation, hash routing.
// Each page module exports `render(root, ctx)`; the router marks main#page with data-page and,
// once the page's fetches and charts are done (or it shows an error), data-ready.
import { api, getKey, setKey, clearKey, setUnauthorizedHandler, aborted, ApiError } from './api.js';
import { el, alertBox } from './fmt.js';
import { destroyCharts } from './chart.js';

const main = document.getElementById('page');
const nav = document.getElementById('nav');
const session = { role: null, keyId: null };
let roleReady = Promise.resolve(null);

const ROUTES = [
  { re: /^overview$/, page: 'overview', mod: 'overview' },
  { re: /^market$/, page: 'market', mod: 'market' },
  { re: /^backtests$/, page: 'backtests', mod: 'backtests' },
  { re: /^backtests\/new$/, page: 'backtest-new', mod: 'backtest-new' },
  { re: /^backtests\/([^/]+)$/, page: 'backtest', mod: 'backtest' },
  { re: /^compare$/, page: 'compare', mod: 'compare' },
  { re: /^studies$/, page: 'studies', mod: 'studies' },
  { re: /^studies\/([^/]+)$/, page: 'study', mod: 'studies' },
  { re: /^models$/, page: 'models', mod: 'models' },
  { re: /^rl$/, page: 'rl', mod: 'rl' },
  { re: /^jobs$/, page: 'jobs', mod: 'jobs' },
  { re: /^quality$/, page: 'quality', mod: 'quality' },
];
const NAV = [
  ['overview', 'Overview'], ['market', 'Market'], ['backtests', 'Backtests'], ['studies', 'Studies'],
  ['models', 'Models'], ['rl', 'RL'], ['jobs', 'Jobs'], ['quality', 'Quality'],
];

let current = null; // {ctrl, root}

function parseHash() {
  const h = decodeURIComponent(location.hash.replace(/^#\/?/, ''));
  const q = h.indexOf('?');
  const path = (q < 0 ? h : h.slice(0, q)).replace(/\/+$/, '') || 'overview';
  const query = new URLSearchParams(q < 0 ? '' : h.slice(q + 1));
  return { path, query };
}

function leave() {
  if (current) current.ctrl.abort();
  destroyCharts();
  current = null;
}

/** A fresh root for a page: what an abandoned page writes later lands in a detached node. */
function start(pageName) {
  leave();
  const ctrl = new AbortController();
  const root = el('div', { class: 'page-root' });
  main.replaceChildren(root);
  main.setAttribute('data-page', pageName);
  main.removeAttribute('data-ready');
  current = { ctrl, root };
  return current;
}

function ready(cur) {
  if (current === cur) main.setAttribute('data-ready', '');
}

async function route(moved) {
  if (!getKey()) return showLogin();
  const { path, query } = parseHash();
  const r = ROUTES.find((x) => x.re.test(path));
  highlight(path);
  if (!r) {
    const cur = start('not-found');
    cur.root.append(el('h1', null, 'Page not found'), el('p', null, 'No page at ', el('code', null, path), '. ', el('a', { href: '#/overview' }, 'Go to the overview'), '.'));
    return ready(cur);
  }
  const cur = start(r.page);
  window.scrollTo(0, 0);
  const params = path.match(r.re).slice(1);
  const ctx = {
    page: r.page, params, query, signal: cur.ctrl.signal,
    role: () => roleReady, // resolves with viewer | analyst | admin (null if unknown)
  };
  try {
    const mod = await import('./pages/' + r.mod + '.js');
    await mod.render(cur.root, ctx);
  } catch (e) {
    if (aborted(e) || current !== cur) return;
    cur.root.append(alertBox(e));
    if (!(e instanceof ApiError)) console.error(e); // a bug: recorded in __sextant.errors
  }
  ready(cur);
  const a = document.activeElement;
  if (moved && current === cur && (!a || a === document.body || !a.isConnected || nav.contains(a))) main.focus({ preventScroll: true });
  document.title = 'Sextant · ' + (cur.root.querySelector('h1')?.textContent || r.page);
}

function highlight(path) {
  const top = path.split('/')[0];
  for (const a of nav.querySelectorAll('a[data-route]')) {
    if (a.dataset.route === top || (top === 'compare' && a.dataset.route === 'backtests')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function renderNav() {
  nav.replaceChildren(
    el('ul', null,
      NAV.map(([r, label]) => el('li', null, el('a', { href: '#/' + r, 'data-route': r }, label))),
      el('li', null, el('a', { href: '/docs' }, 'API docs'))),
    el('span', { class: 'who' }, el('span', { class: 'muted' }, 'Role: '), el('span', { id: 'role', class: 'badge' }, session.role || '…')),
    el('button', { id: 'logout', type: 'button', class: 'ghost', on: { click: logout } }, 'Log out'));
  nav.hidden = false;
}

function logout(message) {
  leave();
  clearKey();
  session.role = null;
  session.keyId = null;
  showLogin(typeof message === 'string' ? message : null);
}

function showLogin(message) {
  leave();
  nav.hidden = true;
  nav.replaceChildren();
  const cur = start('login');
  const msg = el('div', { id: 'login-msg', class: 'login-msg', 'aria-live': 'polite' });
  if (message) msg.append(el('p', { role: 'alert', class: 'alert' }, message));
  const input = el('input', { id: 'key', name: 'key', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false', 'aria-describedby': 'key-help' });
  const btn = el('button', { id: 'login', type: 'submit' }, 'Log in');
  const form = el('form', { class: 'login card', novalidate: true },
    el('h1', null, 'Log in to Sextant'),
    el('label', { for: 'key' }, 'API key'), input,
    el('p', { id: 'key-help', class: 'muted small' }, 'An ', el('code', null, 'sx_…'), ' key from ', el('code', null, 'sextant keys create'),
      '. It is kept for this browser tab only (sessionStorage) and sent with every API call.'),
    btn, msg);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const key = input.value.trim();
    msg.replaceChildren();
    if (!key) { msg.append(el('p', { role: 'alert', class: 'alert' }, 'Enter an API key.')); input.focus(); return; }
    btn.disabled = true;
    try {
      const me = await whoAmI(key);
      setKey(key);
      session.role = me.role;
      session.keyId = me.key_id;
      roleReady = Promise.resolve(me.role);
      renderNav();
      if (!location.hash || location.hash === '#' || location.hash === '#/login') location.hash = '#/overview';
      else route();
    } catch (e) {
      const text = e instanceof ApiError && e.status === 401 ? 'Unknown API key' : 'Could not log in: ' + e.message + (e.status ? ' (' + e.status + ')' : '');
      msg.append(el('p', { role: 'alert', class: 'alert' }, text));
      input.focus();
    } finally {
      btn.disabled = false;
    }
  });
  cur.root.append(form);
  ready(cur);
  input.focus();
}

async function whoAmI(key) {
  const res = await fetch('/api/v1/me', { headers: { Authorization: 'Bearer ' + key, Accept: 'application/json' } });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, body || { title: res.statusText });
  return body;
}

setUnauthorizedHandler(() => logout('Your API key is no longer accepted (401). Log in again.'));

document.getElementById('skip').addEventListener('click', (ev) => {
  ev.preventDefault();
  main.focus();
});
window.addEventListener('hashchange', () => route(true));

// First paint: the shell is already on screen; the key (if any) is checked in the background.
if (getKey()) {
  roleReady = api('/me', { quiet401: true }).then((me) => {
    session.role = me.role;
    session.keyId = me.key_id;
    const r = document.getElementById('role');
    if (r) r.textContent = me.role;
    return me.role;
  }).catch((e) => {
    if (e instanceof ApiError && e.status === 401) logout('Your API key is no longer accepted (401). Log in again.');
    return null;
  });
  renderNav();
  route();
} else {
  showLogin();
}
