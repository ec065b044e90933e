// Incidents: the list (filters: status, severity, drills) and one incident — its state buttons,
// tasks, timeline (live, announced to screen readers), notes, alerts, communications.
import { h, get, act, patch, badge, labels, time, ago, errorSlot, errorBox, duration, canWrite } from './lib.js';

const OPEN = ['triggered', 'acknowledged', 'mitigated'];
const SEVERITIES = ['critical', 'major', 'minor', 'warning', 'info'];

// Every [data-since] element shows its age again (ages move even when the data does not).
export function updateAges(root) {
  root.querySelectorAll('[data-since]').forEach((el) => { el.textContent = ago(el.dataset.since); });
}

function select(name, label, options, value, onchange, extra = {}) {
  const sel = h('select', { name, onchange, ...extra }, options.map(([v, text]) => h('option', { value: v }, text)));
  sel.value = value;
  return h('label', {}, label, sel);
}

export function incidentList(main, _params, query) {
  const status = query.get('status') || 'open';
  const severity = query.get('severity') || '';
  const drill = query.get('drill') || 'all';
  const go = (form) => {
    const q = new URLSearchParams(new FormData(form));
    location.hash = `#/incidents?${q}`;
  };
  const form = h('form', { class: 'filters', 'aria-label': 'Filter incidents', onsubmit: (e) => e.preventDefault() });
  form.append(
    select('status', 'Status', [['open', 'Open (not resolved)'], ['all', 'All'], ...[...OPEN, 'resolved', 'closed'].map((s) => [s, s])],
      status, () => go(form), { 'data-filter': '' }),
    select('severity', 'Severity', [['', 'Any'], ...SEVERITIES.map((s) => [s, s])], severity, () => go(form)),
    select('drill', 'Drills', [['all', 'Real and drills'], ['real', 'Real only'], ['drill', 'Drills only']], drill, () => go(form)),
  );
  const count = h('p', { class: 'muted', 'aria-live': 'polite' });
  const list = h('div');
  main.append(h('div', { class: 'head' }, h('h1', {}, 'Incidents')), form, count, list);

  return {
    async refresh() {
      let incidents;
      try {
        const qs = status !== 'open' && status !== 'all' ? `?status=${status}` : '';
        incidents = (await get(`/api/v1/incidents${qs}`)).incidents;
      } catch (e) {
        patch(list, { error: String(e) }, () => errorBox(e));
        return;
      }
      const shown = incidents.filter((i) => (status !== 'open' || OPEN.includes(i.status))
        && (!severity || i.severity === severity)
        && (drill === 'all' || (drill === 'drill') === Boolean(i.drill)));
      const summary = shown.map((i) => ({
        id: i.id, title: i.title, status: i.status, severity: i.severity, drill: i.drill, plan: i.plan, opened_at: i.opened_at,
        tasks: [i.tasks.filter((t) => t.status !== 'open').length, i.tasks.length],
        firing: i.alerts.filter((a) => a.status === 'firing').length,
        overdue: i.tasks.some((t) => t.overdue && t.status === 'open'),
      }));
      count.textContent = `${shown.length} incident${shown.length === 1 ? '' : 's'}${incidents.length !== shown.length ? ` of ${incidents.length}` : ''}`;
      patch(list, summary, (items) => (items.length
        ? h('ul', { class: 'cards' }, items.map(card))
        : h('p', { class: 'empty' }, status === 'open' ? 'No open incidents. All quiet.' : 'No incidents match.')));
      updateAges(list);
    },
  };
}

// The colour of a card's left edge by status.
const EDGE = { triggered: 'crit', acknowledged: 'major', mitigated: 'minor', resolved: 'ok', closed: 'ok' };

function card(i) {
  return h('li', { class: `card edge-${EDGE[i.status] || 'ok'}` },
    h('div', { class: 'line' }, h('a', { class: 'title', href: `#/incidents/${i.id}` }, `#${i.id} ${i.title}`)),
    h('div', { class: 'line meta' },
      badge(i.status, `st-${i.status}`), badge(i.severity, `sev-${i.severity}`),
      i.drill ? badge('drill', 'drill') : null,
      h('span', {}, 'plan ', h('code', {}, i.plan)),
      h('span', {}, 'opened ', h('span', { 'data-since': i.opened_at })),
      h('span', {}, `${i.tasks[0]}/${i.tasks[1]} tasks done`),
      i.overdue ? badge('task overdue', 'overdue') : null,
      i.firing ? h('span', {}, `${i.firing} alert${i.firing === 1 ? '' : 's'} firing`) : null));
}

// ---- one incident -------------------------------------------------------------------------

const MOVES = [
  // [verb, label, allowed from, shortcut]
  ['ack', 'Acknowledge', ['triggered'], 'a'],
  ['mitigate', 'Mitigated', ['triggered', 'acknowledged']],
  ['resolve', 'Resolve', ['triggered', 'acknowledged', 'mitigated']],
  ['close', 'Close', ['resolved']],
  ['reopen', 'Reopen', ['resolved', 'closed']],
];

export function incidentDetail(main, [id]) {
  const base = `/api/v1/incidents/${id}`;
  const header = h('div', { class: 'incident-head' });
  const buttons = h('div', { class: 'actions' });
  const moveError = errorSlot();
  const tasks = h('div');
  const taskError = errorSlot();
  const timeline = h('ol', { class: 'timeline', tabindex: 0, 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-label': 'Timeline, newest first' });
  const alerts = h('div');
  const comms = h('div');
  const clocks = h('div');
  const noteError = errorSlot();
  const note = h('textarea', { id: 'note', name: 'text', rows: 3, required: true, 'data-focus-key': 'n', placeholder: 'What you saw or did (Ctrl+Enter adds it)' });
  const noteButton = h('button', { type: 'submit' }, 'Add note');
  const noteForm = h('form', { class: 'writes', 'aria-label': 'Add a note', onsubmit: async (e) => {
    e.preventDefault();
    if (!note.value.trim()) { noteError.textContent = 'Write the note first.'; note.focus(); return; }
    try {
      show(await act('POST', `${base}/notes`, { text: note.value }, { errorEl: noteError, button: noteButton }));
      note.value = '';
    } catch { /* shown in noteError */ }
  } }, h('label', { for: 'note', class: 'visually-hidden' }, 'Note'), note, noteError, h('div', { class: 'row' }, noteButton));
  note.addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) noteForm.requestSubmit(); });
  // A milestone (e.g. breach_confirmed) is a timeline event of its own kind: plan clocks start
  // and stop on them (POST …/events).
  const msError = errorSlot();
  const msKind = h('input', { id: 'ms-kind', name: 'kind', required: true, placeholder: 'e.g. breach_confirmed', autocomplete: 'off', class: 'wide' });
  const msDetail = h('input', { id: 'ms-detail', name: 'detail', autocomplete: 'off', class: 'wide' });
  const msButton = h('button', { type: 'submit', class: 'ghost' }, 'Record milestone');
  const milestoneForm = h('form', { class: 'writes', 'aria-label': 'Record a milestone', onsubmit: async (e) => {
    e.preventDefault();
    if (!msKind.value.trim()) { msError.textContent = 'Name the milestone, e.g. breach_confirmed.'; msKind.focus(); return; }
    try {
      show(await act('POST', `${base}/events`, { kind: msKind.value.trim(), detail: msDetail.value }, { errorEl: msError, button: msButton }));
      msKind.value = '';
      msDetail.value = '';
    } catch { msKind.focus(); }
  } },
  h('details', {}, h('summary', {}, 'Record a milestone'),
    h('div', { class: 'field' }, h('label', { for: 'ms-kind' }, 'Milestone'), msKind),
    h('div', { class: 'field' }, h('label', { for: 'ms-detail' }, 'Detail'), msDetail),
    msError, h('div', { class: 'row' }, msButton)));
  const loadError = h('div');

  main.append(
    h('p', {}, h('a', { href: '#/incidents' }, '← Incidents')),
    loadError, header,
    h('div', { class: 'panel' }, h('h2', { class: 'visually-hidden' }, 'Respond'), buttons, moveError),
    // Left: what to do (tasks) and what is known (alerts, clocks, messages); right: what
    // happened (a note, then the live timeline under it).
    h('div', { class: 'grid halves' },
      h('div', {},
        h('section', { class: 'panel', 'aria-labelledby': 'tasks-h' }, h('h2', { id: 'tasks-h' }, 'Tasks'), taskError, tasks),
        h('section', { class: 'panel', 'aria-labelledby': 'alerts-h' }, h('h2', { id: 'alerts-h' }, 'Alerts'), alerts),
        clocks,
        comms),
      h('div', {},
        h('section', { class: 'panel', 'aria-labelledby': 'timeline-h' }, h('h2', { id: 'timeline-h' }, 'Timeline'),
          noteForm, milestoneForm, timeline))));

  async function move(verb, button) {
    try { show(await act('POST', `${base}/${verb}`, {}, { errorEl: moveError, button })); } catch { /* shown */ }
  }

  function show(inc) {
    document.title = `#${inc.id} ${inc.title} · tocsin`;
    patch(header, [inc.id, inc.title, inc.status, inc.severity, inc.drill, inc.plan, inc.opened_at, inc.acknowledged_at, inc.mitigated_at, inc.resolved_at, inc.closed_at, inc.related], () => [
      h('h1', {}, `#${inc.id} ${inc.title}`),
      h('div', { class: 'meta' },
        badge(inc.status, `st-${inc.status}`), badge(inc.severity, `sev-${inc.severity}`),
        inc.drill ? badge(`drill ${inc.drill}`, 'drill') : null,
        h('span', {}, 'plan ', h('code', {}, inc.plan)),
        h('span', {}, 'opened ', time(inc.opened_at), ' (', h('span', { 'data-since': inc.opened_at }), ')'),
        inc.acknowledged_at ? h('span', {}, 'acknowledged after ', duration((Date.parse(inc.acknowledged_at) - Date.parse(inc.opened_at)) / 1000)) : null,
        inc.resolved_at ? h('span', {}, 'resolved after ', duration((Date.parse(inc.resolved_at) - Date.parse(inc.opened_at)) / 1000)) : null,
        (inc.related || []).length ? h('span', {}, 'related ', inc.related.map((r) => h('a', { href: `#/incidents/${r}` }, `#${r} `))) : null),
    ]);
    patch(buttons, [inc.status, inc.severity], ([status]) => [
      ...MOVES.filter(([, , from]) => from.includes(status)).map(([verb, label, , key]) => {
        // Closing is completing the postmortem (docs/postmortems.md): say so before the refusal does.
        const hint = verb === 'close' ? 'Closing completes the postmortem: write its summary, impact and root cause first' : null;
        const b = h('button', { type: 'button', 'data-key': key || null, class: verb === 'ack' ? 'writes' : 'ghost writes', 'aria-keyshortcuts': key || null, title: hint }, label);
        b.addEventListener('click', () => move(verb, b));
        return b;
      }),
      h('a', { class: status === 'resolved' ? 'button' : 'button ghost', href: `#/incidents/${id}/postmortem` }, status === 'resolved' ? 'Write the postmortem' : 'Postmortem'),
      severityControl(inc.severity),
    ]);
    patch(tasks, inc.tasks, (list) => (list.length ? h('ul', { class: 'tasks' }, list.map(task)) : h('p', { class: 'empty' }, 'This plan has no steps.')));
    renderTimeline(inc.timeline);
    patch(alerts, inc.alerts, (list) => (list.length ? h('ul', { class: 'cards' }, list.map((a) => h('li', { class: `card edge-${a.status === 'firing' ? 'crit' : 'ok'}` },
      h('div', { class: 'line' }, badge(a.status, `st-${a.status}`), h('strong', {}, a.labels.alertname || a.fingerprint)),
      labels(a.labels, ['alertname'])))) : h('p', { class: 'empty' }, 'No alerts.')));
    patch(clocks, inc.clocks || [], (list) => (list.length ? h('section', { class: 'panel', 'aria-labelledby': 'clocks-h' },
      h('h2', { id: 'clocks-h' }, 'Clocks'),
      h('ul', {}, list.map((c) => h('li', {}, h('strong', {}, c.name), ' started ', time(c.started_at),
        c.next_at ? [' · next ', time(c.next_at)] : ' · done', c.fired ? ` · fired ${c.fired}×` : '')))) : null));
    patch(comms, inc.communications || {}, (c) => (Object.keys(c).length ? h('section', { class: 'panel', 'aria-labelledby': 'comms-h' },
      h('h2', { id: 'comms-h' }, 'Communications'),
      Object.entries(c).map(([name, text]) => h('details', {},
        h('summary', {}, name),
        h('pre', {}, text),
        h('button', { type: 'button', class: 'ghost', onclick: (e) => copy(text, e.currentTarget) }, 'Copy')))) : null));
    updateAges(main);
  }

  function severityControl(current) {
    const sel = h('select', { id: 'severity', 'aria-label': 'Severity' }, SEVERITIES.map((v) => h('option', { value: v }, v)));
    sel.value = current;
    sel.addEventListener('change', async () => {
      try { show(await act('POST', `${base}/severity`, { severity: sel.value }, { errorEl: moveError, button: sel })); } catch { sel.value = current; }
    });
    return h('label', { class: 'inline-field writes' }, 'Severity ', sel);
  }

  function task(t) {
    const boxId = `task-${t.step}`;
    const done = t.status !== 'open';
    const box = h('input', { type: 'checkbox', id: boxId, checked: done, disabled: done || !canWrite(), 'aria-describedby': `${boxId}-sub` });
    box.addEventListener('change', async () => {
      if (!box.checked) return;
      try { show(await act('POST', `${base}/tasks/${encodeURIComponent(t.step)}/done`, {}, { errorEl: taskError, button: box })); } catch { box.checked = false; }
    });
    const sub = [
      `${t.owner}${t.assignee ? ` → ${t.assignee}` : ''}`,
      t.status === 'open' ? [' · due ', time(t.due_at)] : [` · ${t.status}`, t.done_by ? ` by ${t.done_by}` : '', t.done_at ? [' at ', time(t.done_at)] : ''],
    ];
    let action = null;
    if (t.action) {
      const a = t.action;
      action = h('div', { class: 'sub' }, `action (${a.type}): `, badge(a.state.replaceAll('_', ' '), a.state === 'failed' ? 'failed' : a.state === 'succeeded' ? 'st-done' : 'st-pending'),
        a.last_result ? ` ${a.last_result}` : '', a.approved_by ? ` · approved by ${a.approved_by}` : '');
      if (a.state === 'awaiting_approval') {
        const b = h('button', { type: 'button', class: 'writes' }, 'Approve action');
        b.addEventListener('click', async () => {
          try { show(await act('POST', `${base}/actions/${encodeURIComponent(t.step)}/approve`, {}, { errorEl: taskError, button: b })); } catch { /* shown */ }
        });
        action.append(' ', b);
      }
    }
    let skip = null;
    if (!done) {
      skip = h('button', { type: 'button', class: 'ghost writes', 'aria-label': `Skip: ${t.title}` }, 'Skip');
      skip.addEventListener('click', async () => {
        try { show(await act('POST', `${base}/tasks/${encodeURIComponent(t.step)}/skip`, {}, { errorEl: taskError, button: skip })); } catch { /* shown */ }
      });
    }
    return h('li', { class: done ? 'done' : '' }, box,
      h('div', { class: 'grow' }, h('label', { for: boxId }, t.title),
        h('div', { class: 'sub', id: `${boxId}-sub` }, sub, t.overdue && !done ? [' ', badge('overdue', 'overdue')] : null),
        action),
      skip);
  }

  // Newest first; new events are added on top (announced), the rest is kept as it is.
  let shownEvents = [];
  function renderTimeline(events) {
    const sameStart = shownEvents.length <= events.length
      && shownEvents.every((e, i) => e.at === events[i].at && e.kind === events[i].kind && e.detail === events[i].detail);
    const event = (e, fresh) => h('li', { class: fresh ? 'fresh' : '' }, time(e.at),
      h('div', {}, h('span', { class: 'kind' }, e.kind.replaceAll('_', ' ')), e.actor ? h('span', { class: 'muted' }, ` · ${e.actor}`) : null,
        e.detail ? h('div', { class: 'detail' }, e.detail) : null));
    if (sameStart && shownEvents.length) {
      for (const e of events.slice(shownEvents.length)) timeline.prepend(event(e, true));
    } else {
      timeline.replaceChildren(...events.slice().reverse().map((e) => event(e, false)));
    }
    shownEvents = events.slice();
  }

  return {
    async refresh() {
      try {
        const inc = await get(base);
        loadError.replaceChildren();
        show(inc);
      } catch (e) {
        loadError.replaceChildren(errorBox(e));
      }
    },
    destroy() { document.title = 'tocsin'; },
  };
}

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied';
  } catch {
    button.textContent = 'Copy failed: select the text';
  }
  setTimeout(() => { button.textContent = 'Copy'; }, 2000);
}
