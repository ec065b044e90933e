// The shell of the UI: hash routing (#/incidents/12), the "You are" selector, the colour theme,
// keyboard shortcuts, and the poll that keeps the visible page live (every 2.5 s while the tab is
// visible; at once when it becomes visible again). Pages live in their own modules; each is a
// function (main, params, query) returning {refresh(), destroy?()}.
import { get, actor, setActor, syncClock, h, errorBox, loadSession, signIn, signOut, session } from './lib.js';
import { incidentList, incidentDetail } from './incidents.js';
import { postmortemPage, actionItemsPage } from './postmortem.js';
import { alertsPage, silencesPage } from './alerts.js';
import { rulesPage, oncallPage, plansPage, riskPage, drillsPage, drillPage } from './pages.js';
import { kpiPage } from './kpi.js';

const POLL_MS = 2500;

const routes = [
  [/^\/?$/, () => { location.replace('#/incidents'); return null; }],
  [/^\/incidents$/, incidentList, 'incidents'],
  [/^\/incidents\/(\d+)$/, incidentDetail, 'incidents'],
  [/^\/incidents\/(\d+)\/postmortem$/, postmortemPage, 'incidents'],
  [/^\/alerts$/, alertsPage, 'alerts'],
  [/^\/silences$/, silencesPage, 'silences'],
  [/^\/oncall$/, oncallPage, 'oncall'],
  [/^\/rules$/, rulesPage, 'rules'],
  [/^\/plans$/, plansPage, 'plans'],
  [/^\/risk$/, riskPage, 'risk'],
  [/^\/drills$/, drillsPage, 'drills'],
  [/^\/drills\/(\d+)$/, drillPage, 'drills'],
  [/^\/kpi$/, kpiPage, 'kpi'],
  [/^\/action-items$/, actionItemsPage, 'kpi'],
];

const main = document.getElementById('main');
let view = null;
let timer = null;
let refreshing = false;
let again = false;
let lastPath = null;

// One refresh at a time; a refresh asked for meanwhile (a write's result) runs right after.
async function refresh() {
  if (!view) return;
  if (refreshing) { again = true; return; }
  refreshing = true;
  try {
    do {
      again = false;
      await syncClock();
      await view.refresh();
    } while (again);
  } catch (e) {
    console.error(e);
  } finally {
    refreshing = false;
  }
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    if (document.visibilityState === 'visible') await refresh();
    schedule();
  }, POLL_MS);
}

async function route() {
  if (signInShown) return;
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = hash.split('?');
  const query = new URLSearchParams(qs || '');
  for (const [re, page, nav] of routes) {
    const m = path.match(re);
    if (!m) continue;
    if (view?.destroy) view.destroy();
    document.querySelectorAll('[data-nav]').forEach((a) => a.toggleAttribute('aria-current', false));
    if (nav) document.querySelector(`[data-nav="${nav}"]`)?.setAttribute('aria-current', 'page');
    main.replaceChildren();
    view = page(main, m.slice(1), query);
    if (!view) return;
    await refresh();
    // A new page (not a filter change) moves focus to the content, for keyboard and screen readers.
    if (path !== lastPath && document.activeElement === document.body) main.focus({ preventScroll: true });
    lastPath = path;
    schedule();
    return;
  }
  main.replaceChildren(h('h1', {}, 'Not found'), h('p', {}, 'No page at ', h('code', {}, hash), '. ', h('a', { href: '#/incidents' }, 'Incidents')));
}

// ---- signing in ------------------------------------------------------------------------------
// Shown instead of the page when the server wants credentials (auth on, no session, or it
// expired); signing in brings back the page that was asked for.
let signInShown = false;
function showSignIn(message) {
  if (signInShown) return;
  signInShown = true;
  clearTimeout(timer);
  if (view?.destroy) view.destroy();
  view = null;
  renderSessionTools();
  const token = h('input', { type: 'password', id: 'signin-token', name: 'token', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'error', role: 'alert', id: 'signin-error' }, message || '');
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { class: 'signin', onsubmit: async (e) => {
    e.preventDefault();
    button.disabled = true;
    error.textContent = '';
    try {
      await signIn(token.value);
      signInShown = false;
      renderSessionTools();
      loadPeople();
      await route();
    } catch (err) {
      error.textContent = String(err);
      token.select();
    } finally {
      button.disabled = false;
    }
  } },
  h('label', { for: 'signin-token' }, 'API token'), token,
  h('p', { class: 'muted' }, 'A token of ', h('code', {}, 'auth.tokens'), ' in tocsin.yaml. Viewers can look; responders and admins can act.'),
  button, error);
  main.replaceChildren(h('h1', {}, 'Sign in'), form);
  token.focus();
}

function renderSessionTools() {
  const el = document.getElementById('session');
  if (!el) return;
  // app.css hides the controls marked `writes` for a viewer: the server would refuse them.
  document.body.dataset.role = session ? session.role : '';
  if (!session) { el.replaceChildren(); return; }
  el.replaceChildren(
    h('span', { class: 'who', title: `signed in until ${session.expires_at || '?'}` },
      `${session.name} (${session.role}${session.role === 'viewer' ? ', read-only' : ''})`),
    h('button', { type: 'button', class: 'ghost', id: 'signout', onclick: async () => {
      await signOut();
      showSignIn('Signed out.');
    } }, 'Sign out'));
}

// ---- "You are" ----------------------------------------------------------------------------
let peopleLoaded = false;
async function loadPeople() {
  if (peopleLoaded) return;
  peopleLoaded = true;
  const select = document.getElementById('actor');
  let people = [];
  try {
    people = (await get('/api/v1/people')).people;
  } catch (e) {
    select.after(errorBox(e));
  }
  const current = actor();
  for (const p of people) select.append(h('option', { value: p.id }, p.name === p.id ? p.id : `${p.name} (${p.id})`));
  if (current && !people.some((p) => p.id === current)) select.append(h('option', { value: current }, current));
  select.value = current;
  select.addEventListener('change', () => setActor(select.value));
}

// ---- theme --------------------------------------------------------------------------------
const THEMES = ['auto', 'light', 'dark'];
function applyTheme(theme) {
  if (theme === 'auto') document.documentElement.removeAttribute('data-theme');
  else document.documentElement.setAttribute('data-theme', theme);
  const b = document.getElementById('theme');
  b.setAttribute('aria-label', `Colour theme: ${theme === 'auto' ? 'automatic' : theme}`);
  b.textContent = theme === 'light' ? '☀' : theme === 'dark' ? '☾' : '◐';
}
function cycleTheme() {
  const next = THEMES[(THEMES.indexOf(localStorage.getItem('tocsin.theme') || 'auto') + 1) % THEMES.length];
  localStorage.setItem('tocsin.theme', next);
  applyTheme(next);
}

// ---- keyboard -----------------------------------------------------------------------------
const GO = { i: 'incidents', a: 'alerts', s: 'silences', o: 'oncall', r: 'rules', p: 'plans', d: 'drills', k: 'kpi' };
let pendingG = 0;
function onKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
  const t = e.target;
  if (t.closest && t.closest('input, textarea, select, [contenteditable], dialog')) return;
  if (pendingG && Date.now() - pendingG < 1500 && GO[e.key]) {
    pendingG = 0;
    location.hash = `#/${GO[e.key]}`;
    e.preventDefault();
    return;
  }
  pendingG = 0;
  if (e.key === 'g') { pendingG = Date.now(); return; }
  if (e.key === '?') { document.getElementById('help').showModal(); e.preventDefault(); return; }
  if (e.key === 't') { cycleTheme(); return; }
  if (e.key === '/') {
    const f = main.querySelector('[data-filter]');
    if (f) { f.focus(); e.preventDefault(); }
    return;
  }
  // Page shortcuts: elements marked data-key="a" are clicked, data-focus-key="n" focused.
  const click = main.querySelector(`[data-key="${CSS.escape(e.key)}"]:not([disabled])`);
  if (click) { click.click(); e.preventDefault(); return; }
  const focus = main.querySelector(`[data-focus-key="${CSS.escape(e.key)}"]`);
  if (focus) { focus.focus(); e.preventDefault(); return; }
  if (e.key === 'j' || e.key === 'k') {
    const links = [...main.querySelectorAll('a.title')];
    if (!links.length) return;
    const i = links.indexOf(document.activeElement);
    const next = e.key === 'j' ? Math.min(i + 1, links.length - 1) : Math.max(i - 1, 0);
    links[i === -1 ? 0 : next].focus();
    e.preventDefault();
  }
}

applyTheme(localStorage.getItem('tocsin.theme') || 'auto');
document.getElementById('theme').addEventListener('click', cycleTheme);
document.getElementById('help-open').addEventListener('click', () => document.getElementById('help').showModal());
document.addEventListener('keydown', onKey);
document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') refresh(); });
window.addEventListener('hashchange', route);
// Pages ask for an immediate refresh after a write, so the result shows without waiting a poll.
window.addEventListener('tocsin:refresh', () => refresh());
window.addEventListener('tocsin:signin', () => showSignIn('Your session has ended: sign in again.'));
(async () => {
  const state = await loadSession();
  renderSessionTools();
  if (state === 'needed') { showSignIn(''); return; }
  loadPeople();
  route();
})();
