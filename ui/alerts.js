// Alerts (Alertmanager API v2: every unresolved alert, silenced and inhibited ones included) and
// silences: list, create (matchers, duration, comment; createdBy = who you are), expire.
import { h, get, api, patch, badge, labels, time, errorSlot, errorBox, requireActor, serverNow, syncClock, ApiError } from './lib.js';
import { updateAges } from './incidents.js';

function alertState(a) {
  const st = a.status?.state || 'active';
  if (st === 'suppressed') return (a.status.silencedBy || []).length ? 'silenced' : 'inhibited';
  return st;
}

export function alertsPage(main) {
  const filter = h('input', { type: 'search', id: 'alert-filter', 'data-filter': '', placeholder: 'e.g. service=api or HighLoad', autocomplete: 'off' });
  const list = h('div');
  let last = [];
  const render = () => {
    const words = filter.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    const shown = last.filter((a) => words.every((w) => JSON.stringify(a.labels).toLowerCase().replaceAll('":"', '=').replaceAll('"', '').includes(w.replaceAll('"', ''))));
    patch(list, { shown, q: filter.value }, () => (shown.length ? h('ul', { class: 'cards' }, shown.map((a) => {
      const state = alertState(a);
      const q = new URLSearchParams({ matchers: Object.entries(a.labels).filter(([k]) => ['alertname', 'instance', 'service', 'job'].includes(k)).map(([k, v]) => `${k}="${v}"`).join('\n') });
      return h('li', { class: `card edge-${state === 'active' ? 'crit' : 'info'}` },
        h('div', { class: 'line' }, badge(state, `st-${state === 'active' ? 'firing' : 'suppressed'}`), h('strong', {}, a.labels.alertname || a.fingerprint),
          h('span', { class: 'muted' }, 'since ', time(a.startsAt), ' (', h('span', { 'data-since': a.startsAt }), ')')),
        a.annotations?.summary ? h('div', {}, a.annotations.summary) : null,
        labels(a.labels, ['alertname']),
        h('div', { class: 'line' }, h('a', { class: 'writes', href: `#/silences?${q}` }, 'Silence…'),
          (a.receivers || []).length ? h('span', { class: 'muted' }, 'receivers: ', a.receivers.map((r) => r.name).join(', ')) : null));
    })) : h('p', { class: 'empty' }, last.length ? 'No alert matches the filter.' : 'No alerts. Nothing is firing.')));
    updateAges(list);
  };
  filter.addEventListener('input', render);
  main.append(h('div', { class: 'head' }, h('h1', {}, 'Alerts')),
    h('div', { class: 'filters' }, h('label', { for: 'alert-filter' }, 'Filter by label ', filter)), list);
  return {
    async refresh() {
      try {
        last = await get('/api/v2/alerts');
        last.sort((a, b) => (a.startsAt < b.startsAt ? 1 : -1));
      } catch (e) {
        patch(list, { error: String(e) }, () => errorBox(e));
        return;
      }
      render();
    },
  };
}

// 'service="api"', 'instance=~"h[12]"', 'job!=x' (one per line or comma-separated) -> matchers.
export function parseMatchers(text) {
  const out = [];
  for (const raw of text.split(/\n|,(?=(?:[^"]*"[^"]*")*[^"]*$)/)) {
    const line = raw.trim();
    if (!line) continue;
    const m = line.match(/^([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*)$/);
    if (!m) throw new ApiError(0, `bad matcher "${line}": expected name="value", name!="value", name=~"regex" or name!~"regex"`, 'matchers');
    let value = m[3].trim();
    if (value.startsWith('"')) {
      if (!value.endsWith('"') || value.length < 2) throw new ApiError(0, `bad matcher "${line}": unclosed quote`, 'matchers');
      value = JSON.parse(value);
    }
    out.push({ name: m[1], value, isRegex: m[2].includes('~'), isEqual: !m[2].startsWith('!') });
  }
  if (!out.length) throw new ApiError(0, 'at least one matcher is needed, e.g. service="api"', 'matchers');
  return out;
}

// "2h", "30m", "1d 4h" -> milliseconds.
export function parseDuration(text) {
  const t = text.trim();
  const re = /(\d+(?:\.\d+)?)\s*(w|d|h|m|s)/g;
  const unit = { w: 604800e3, d: 86400e3, h: 3600e3, m: 60e3, s: 1e3 };
  let ms = 0;
  let consumed = '';
  for (const m of t.matchAll(re)) { ms += Number(m[1]) * unit[m[2]]; consumed += m[0]; }
  if (!ms || consumed.replace(/\s/g, '') !== t.replace(/\s/g, '')) throw new ApiError(0, `bad duration "${text}": expected e.g. 30m, 2h or 1d`, 'duration');
  return ms;
}

const matcherText = (m) => `${m.name}${m.isEqual === false ? (m.isRegex ? '!~' : '!=') : (m.isRegex ? '=~' : '=')}"${m.value}"`;

export function silencesPage(main, _params, query) {
  const matchers = h('textarea', { id: 'sil-matchers', name: 'matchers', rows: 3, required: true, value: query.get('matchers') || '', placeholder: 'service="api"\ninstance=~"h[12]"', 'aria-describedby': 'sil-matchers-hint' });
  const durationIn = h('input', { id: 'sil-duration', name: 'duration', value: '2h', required: true, list: 'sil-durations', size: 8, 'aria-describedby': 'sil-duration-hint' });
  const comment = h('input', { id: 'sil-comment', name: 'comment', required: true, placeholder: 'why, and a ticket or incident', class: 'wide' });
  const err = errorSlot();
  const submit = h('button', { type: 'submit' }, 'Create silence');
  const done = h('p', { class: 'muted', role: 'status' });
  const form = h('form', { class: 'panel writes', 'aria-labelledby': 'sil-new-h', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    err.textContent = '';
    done.textContent = '';
    try {
      const body = { matchers: parseMatchers(matchers.value), comment: comment.value.trim() };
      if (!body.comment) throw new ApiError(0, 'a comment is required: say why', 'comment');
      // Times are the server's: a start a minute back is taken as "now" by the server (as
      // Alertmanager does), so a clock skew between browser and server cannot make it pending.
      await syncClock();
      const start = serverNow();
      body.startsAt = new Date(start - 60e3).toISOString();
      body.endsAt = new Date(start + parseDuration(durationIn.value)).toISOString();
      body.createdBy = requireActor();
      submit.disabled = true;
      const r = await api('POST', '/api/v2/silences', body);
      done.textContent = `Silence ${r.silenceID} created.`;
      matchers.value = '';
      comment.value = '';
      window.dispatchEvent(new Event('tocsin:refresh'));
    } catch (ex) {
      err.textContent = ex instanceof ApiError ? ex.toString() : String(ex);
      const field = { matchers, duration: durationIn, comment }[ex.field];
      field?.focus();
    } finally {
      submit.disabled = false;
    }
  } },
  h('h2', { id: 'sil-new-h' }, 'New silence'),
  h('div', { class: 'field' }, h('label', { for: 'sil-matchers' }, 'Matchers'),
    h('span', { class: 'hint', id: 'sil-matchers-hint' }, 'One per line: name="value", name!="value", name=~"regex", name!~"regex". Alerts matching all of them are muted.'), matchers),
  h('div', { class: 'row' },
    h('div', { class: 'field' }, h('label', { for: 'sil-duration' }, 'Duration'), durationIn, h('span', { class: 'hint', id: 'sil-duration-hint' }, 'from now: 30m, 2h, 1d'),
      h('datalist', { id: 'sil-durations' }, ['30m', '1h', '2h', '4h', '12h', '1d', '1w'].map((d) => h('option', { value: d })))),
    h('div', { class: 'field grow' }, h('label', { for: 'sil-comment' }, 'Comment'), comment)),
  err, h('div', { class: 'row' }, submit), done);

  const stateSel = h('select', { id: 'sil-state', 'data-filter': '' }, [['current', 'Active and pending'], ['expired', 'Expired'], ['all', 'All']].map(([v, t]) => h('option', { value: v }, t)));
  const listErr = errorSlot();
  const list = h('div');
  main.append(h('div', { class: 'head' }, h('h1', {}, 'Silences')), form,
    h('section', { class: 'panel', 'aria-labelledby': 'sil-list-h' }, h('h2', { id: 'sil-list-h' }, 'Silences'),
      h('div', { class: 'filters' }, h('label', { for: 'sil-state' }, 'Show ', stateSel)), listErr, list));
  let last = [];
  const render = () => {
    const want = stateSel.value;
    const shown = last.filter((x) => want === 'all' || (want === 'expired') === (x.status.state === 'expired'));
    patch(list, shown, (items) => (items.length ? h('ul', { class: 'cards' }, items.map((x) => {
      let expire = null;
      if (x.status.state !== 'expired') {
        expire = h('button', { type: 'button', class: 'danger writes', 'aria-label': `Expire silence ${x.matchers.map(matcherText).join(', ')}` }, 'Expire');
        expire.addEventListener('click', async () => {
          listErr.textContent = '';
          expire.disabled = true;
          try {
            await api('DELETE', `/api/v2/silence/${encodeURIComponent(x.id)}`);
            window.dispatchEvent(new Event('tocsin:refresh'));
          } catch (ex) {
            listErr.textContent = ex.toString();
            expire.disabled = false;
          }
        });
      }
      const edge = { active: 'info', pending: 'minor', expired: 'ok' }[x.status.state] || 'ok';
      return h('li', { class: `card edge-${edge}`, 'data-silence': x.id },
        h('div', { class: 'line' }, badge(x.status.state, x.status.state === 'active' ? 'drill' : `st-${x.status.state}`), h('span', { class: 'labels' }, x.matchers.map((m) => h('code', {}, matcherText(m))))),
        h('div', {}, x.comment),
        h('div', { class: 'line meta' }, h('span', {}, 'by ', x.createdBy), h('span', {}, 'from ', time(x.startsAt)), h('span', {}, x.status.state === 'expired' ? 'ended ' : 'until ', time(x.endsAt)), expire));
    })) : h('p', { class: 'empty' }, 'No silences.')));
  };
  stateSel.addEventListener('change', render);
  return {
    async refresh() {
      try {
        last = await get('/api/v2/silences');
        last.sort((a, b) => (a.endsAt < b.endsAt ? 1 : -1));
      } catch (e) {
        patch(list, { error: String(e) }, () => errorBox(e));
        return;
      }
      render();
    },
  };
}
