// Shared helpers of the UI: DOM building, the API client, who the actor is, time formatting,
// and inline SVG sparklines. No dependencies.

// h('a', {href: '#/x', class: 'y', onclick: fn}, 'text', child, [more]): an element. Attributes
// starting with "on" are listeners; `null`/`false` attributes and children are skipped.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'value') el.value = v;  // a property: the attribute does nothing on <textarea>
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const SVG_NS = 'http://www.w3.org/2000/svg';
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, v);
  append(el, children);
  return el;
}

// Replaces the children of `el` with what `render(data)` returns — only when `data` differs from
// what was rendered last, so a poll that changes nothing keeps focus, selection and scroll.
export function patch(el, data, render) {
  const key = JSON.stringify(data);
  if (el.dataset.key === key) return false;
  el.dataset.key = key;
  el.replaceChildren(...[render(data)].flat().filter((c) => c !== null && c !== undefined));
  return true;
}

// ---- API ------------------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.status = status;
    this.field = field || null;
  }
  toString() { return `${this.message}${this.field ? ` (field: ${this.field})` : ''}`; }
}

// One request. JSON bodies both ways; a 4xx/5xx becomes an ApiError with the server's message
// ({"error", "field"}, or the Alertmanager API's JSON string).
export async function api(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' } };
  // A signed-in session's cookie goes with every request by itself; a write must also prove it
  // comes from this page, not from another site riding on the cookie (CSRF).
  if (method !== 'GET' && session?.csrf_token) init.headers['X-CSRF-Token'] = session.csrf_token;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, `tocsin did not answer (${e.message}); is the server running?`);
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!res.ok) {
    // The session expired or was signed out elsewhere: the shell shows the sign-in form.
    if (res.status === 401 && path !== SESSION_PATH) window.dispatchEvent(new CustomEvent('tocsin:signin'));
    if (data && typeof data === 'object' && data.error) throw new ApiError(res.status, data.error, data.field);
    throw new ApiError(res.status, typeof data === 'string' && data ? data : `HTTP ${res.status}`);
  }
  return data;
}
export const get = (path) => api('GET', path);

// ---- signing in (docs/ui.md#signing-in) --------------------------------------------------------

// With auth configured, the UI signs in with an API token: POST /api/v1/session checks it, sets
// an HttpOnly session cookie (the page never sees it) and answers who this is, with the CSRF
// token that writes send back. Kept in memory only: a reload asks GET /api/v1/session again.
const SESSION_PATH = '/api/v1/session';
export let session = null;  // {name, role, csrf_token, expires_at} while signed in
// 'on' (signed in), 'needed' (auth on, not signed in), 'off' (the server has no auth: GET
// /api/v1/session answers {"auth": false}).
export async function loadSession() {
  try {
    const answer = await get(SESSION_PATH);
    // {"auth": false}: the server has no tokens, so there is nobody to sign in as.
    session = answer && answer.auth !== false ? answer : null;
    return session ? 'on' : 'off';
  } catch (e) {
    session = null;
    return e instanceof ApiError && e.status === 401 ? 'needed' : 'off';
  }
}
// Whether this person's writes can succeed: not when signed in as a viewer (the server would
// refuse them with 403), so the pages leave out the controls that write.
export function canWrite() { return !session || session.role !== 'viewer'; }
export async function signIn(token) {
  session = await api('POST', SESSION_PATH, { token });
  return session;
}
export async function signOut() {
  try { await api('DELETE', SESSION_PATH); } finally { session = null; }
}

// ---- who acts -------------------------------------------------------------------------------

const ACTOR_KEY = 'tocsin.actor';
export function actor() { return localStorage.getItem(ACTOR_KEY) || ''; }
export function setActor(id) {
  if (id) localStorage.setItem(ACTOR_KEY, id);
  else localStorage.removeItem(ACTOR_KEY);
}
// The actor for a write, or an ApiError asking to choose one (shown next to the form).
export function requireActor() {
  const a = actor();
  if (!a) {
    document.getElementById('actor')?.focus();
    throw new ApiError(0, 'Choose who you are first ("You are" at the top): your name goes on the timeline.', 'actor');
  }
  return a;
}

// A write: the body gets {"actor"}; `errorEl` shows an error, `button` is disabled meanwhile.
export async function act(method, path, body, { errorEl, button } = {}) {
  if (errorEl) errorEl.textContent = '';
  if (button) button.disabled = true;
  try {
    const who = requireActor();
    return await api(method, path, { actor: who, ...(body || {}) });
  } catch (e) {
    if (errorEl) errorEl.textContent = e instanceof ApiError ? e.toString() : String(e);
    throw e;
  } finally {
    if (button) button.disabled = false;
  }
}

// ---- server time ----------------------------------------------------------------------------

// Under `tocsin serve --simulated-clock` (tests, `tocsin demo`) the server's now is not ours:
// ages are measured from the server's clock when it publishes one.
let clockOffsetMs = 0;
let simulated = null;  // null: not asked yet
export async function syncClock() {
  if (simulated === false) return;
  try {
    const c = await get('/api/v1/clock');
    simulated = true;
    clockOffsetMs = Date.parse(c.now) - Date.now();
  } catch {
    simulated = false;
    clockOffsetMs = 0;
  }
}
export const serverNow = () => Date.now() + clockOffsetMs;

// ---- formatting -----------------------------------------------------------------------------

// 42 -> "42s", 3725 -> "1h 2m", 200000 -> "2d 7h"; null -> "—".
export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const neg = seconds < 0;
  let v = Math.round(Math.abs(seconds));
  const parts = [];
  const d = Math.floor(v / 86400); v -= d * 86400;
  const hr = Math.floor(v / 3600); v -= hr * 3600;
  const m = Math.floor(v / 60); const sec = v - m * 60;
  if (d) parts.push(`${d}d`, hr ? `${hr}h` : null);
  else if (hr) parts.push(`${hr}h`, m ? `${m}m` : null);
  else if (m) parts.push(`${m}m`, sec && m < 10 ? `${sec}s` : null);
  else parts.push(`${sec}s`);
  return (neg ? '-' : '') + parts.filter(Boolean).join(' ');
}

export function ago(iso) {
  if (!iso) return '—';
  const secs = (serverNow() - Date.parse(iso)) / 1000;
  return secs >= 0 ? `${duration(secs)} ago` : `in ${duration(-secs)}`;
}

// A <time> element: local clock time (with the date when not today), the full time as a tooltip.
export function time(iso, { withAge = false } = {}) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  const today = new Date(serverNow()).toDateString() === d.toDateString();
  const clock = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const label = today ? clock : `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${clock}`;
  return h('time', { datetime: iso, title: d.toString() }, withAge ? `${label} (${ago(iso)})` : label);
}

export function percent(ratio) {
  return ratio === null || ratio === undefined || !Number.isFinite(ratio) ? '—' : `${(ratio * 100).toFixed(ratio >= 0.995 || ratio === 0 ? 0 : 1)}%`;
}

export function badge(text, cls = '') {
  return h('span', { class: `badge ${cls}` }, text);
}

export function labels(obj, skip = []) {
  return h('span', { class: 'labels' },
    Object.entries(obj || {}).filter(([k]) => !skip.includes(k)).map(([k, v]) => h('code', {}, `${k}="${v}"`)));
}

export function errorBox(e) {
  return h('p', { class: 'error', role: 'alert' }, e instanceof ApiError ? e.toString() : String(e));
}

export function errorSlot() {
  return h('p', { class: 'error', role: 'alert', 'aria-live': 'assertive' });
}

export function table(headers, rows, { caption } = {}) {
  return h('div', { class: 'table-wrap' },
    h('table', {},
      caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
      h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col', class: x.num ? 'num' : null }, x.label ?? x)))),
      h('tbody', {}, rows.length ? rows.map((r) => h('tr', {}, r.map((c, i) => h('td', { class: headers[i]?.num ? 'num' : null }, c))))
        : h('tr', {}, h('td', { colspan: headers.length, class: 'empty' }, 'None.')))));
}

// A small line chart of `points` ([{label, value}], null values are gaps) as inline SVG, with a
// text alternative listing the values. `format` turns a value into text.
export function sparkline(points, { title = '', format = (v) => String(v), width = 320, height = 70 } = {}) {
  const vals = points.map((p) => p.value).filter((v) => v !== null && v !== undefined && Number.isFinite(v));
  const desc = points.map((p) => `${p.label}: ${p.value === null || p.value === undefined ? 'no data' : format(p.value)}`).join('; ');
  const svg = s('svg', { class: 'spark', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `${title}. ${desc || 'no data'}` });
  svg.append(s('title', {}, `${title}: ${desc}`));
  if (!vals.length) {
    svg.append(s('text', { x: 4, y: height / 2 }, 'no data'));
    return svg;
  }
  const lo = Math.min(0, ...vals);
  const hi = Math.max(...vals);
  const pad = 6;
  const x = (i) => (points.length === 1 ? width / 2 : pad + (i * (width - 2 * pad)) / (points.length - 1));
  const bottom = height - 14;  // room for the first and last period's labels
  const y = (v) => bottom - (hi === lo ? 0.5 : (v - lo) / (hi - lo)) * (bottom - pad - 10);
  let d = '';
  let area = '';
  let open = false;
  points.forEach((p, i) => {
    if (p.value === null || p.value === undefined || !Number.isFinite(p.value)) { open = false; return; }
    d += `${open ? 'L' : 'M'}${x(i).toFixed(1)},${y(p.value).toFixed(1)}`;
    open = true;
  });
  const firstIdx = points.findIndex((p) => Number.isFinite(p.value));
  const lastIdx = points.length - 1 - [...points].reverse().findIndex((p) => Number.isFinite(p.value));
  area = `${d}L${x(lastIdx).toFixed(1)},${bottom}L${x(firstIdx).toFixed(1)},${bottom}Z`;
  if (!d.includes('L')) area = '';
  if (area) svg.append(s('path', { class: 'area', d: area }));
  svg.append(s('path', { class: 'line', d, 'vector-effect': 'non-scaling-stroke' }));
  const last = points[lastIdx];
  svg.append(s('circle', { cx: x(lastIdx), cy: y(last.value), r: 3 }));
  svg.append(s('text', { x: 4, y: 10 }, `max ${format(hi)}`));
  svg.append(s('text', { x: pad, y: height - 2 }, points[0].label));
  if (points.length > 1) svg.append(s('text', { x: width - pad, y: height - 2, 'text-anchor': 'end' }, points[points.length - 1].label));
  return svg;
}
