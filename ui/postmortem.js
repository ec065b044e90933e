// The postmortem of an incident (docs/postmortems.md): the editable fields, action items (add,
// tick done, reopen), Complete (with what is still missing), and the generated draft. Also the
// action items of every incident, tracked until done (GET /api/v1/action-items).
import { h, get, act, patch, badge, time, errorSlot, errorBox, ApiError, canWrite } from './lib.js';

const FIELDS = [
  ['summary', 'Summary', 'What happened, in two or three sentences.'],
  ['impact', 'Impact', 'Who and what was affected, for how long.'],
  ['root_cause', 'Root cause', ''],
  ['contributing_factors', 'Contributing factors', ''],
  ['went_well', 'What went well', ''],
  ['went_badly', 'What went badly', ''],
  ['lessons', 'Lessons', ''],
];

export function postmortemPage(main, [id]) {
  const base = `/api/v1/incidents/${id}/postmortem`;
  const status = h('div');
  const editor = h('div');
  const items = h('div');
  const frame = h('iframe', { title: `Postmortem draft of incident ${id}`, sandbox: '', src: `${base}?format=html`, loading: 'lazy' });
  main.append(
    h('p', {}, h('a', { href: `#/incidents/${id}` }, `← Incident #${id}`)),
    h('div', { class: 'head' }, h('h1', {}, `Postmortem of incident #${id}`), h('a', { class: 'button ghost', href: `${base}?format=md`, download: `postmortem-${id}.md` }, 'Download Markdown')),
    status, editor, items,
    h('section', { class: 'panel iframe-wrap', 'aria-labelledby': 'pm-draft-h' }, h('h2', { id: 'pm-draft-h' }, 'Draft'), frame));

  let built = false;
  const inputs = {};
  const saveError = errorSlot();
  const saved = h('span', { class: 'muted', role: 'status' });
  const itemError = errorSlot();
  const completeError = errorSlot();

  function buildEditor(pm) {
    const saveButton = h('button', { type: 'submit' }, 'Save');
    const form = h('form', { class: 'panel writes', 'aria-labelledby': 'pm-fields-h', onsubmit: async (e) => {
      e.preventDefault();
      const body = {};
      for (const [k] of FIELDS) body[k] = inputs[k].value;
      try {
        const r = await act('PUT', base, body, { errorEl: saveError, button: saveButton });
        saved.textContent = 'Saved.';
        for (const [k] of FIELDS) inputs[k].dataset.saved = inputs[k].value;
        show(r, true);
        frame.src = `${base}?format=html`;  // assigning reloads it: the draft shows what was saved
      } catch (ex) {
        if (ex instanceof ApiError && inputs[ex.field]) inputs[ex.field].focus();
      }
    } }, h('h2', { id: 'pm-fields-h' }, 'Write-up'));
    for (const [k, label, hint] of FIELDS) {
      const ta = h('textarea', { id: `pm-${k}`, name: k, rows: k === 'summary' || k === 'impact' ? 3 : 4, value: pm.fields?.[k] ?? '', placeholder: hint });
      ta.dataset.saved = ta.value;
      ta.addEventListener('input', () => { saved.textContent = 'Unsaved changes.'; });
      inputs[k] = ta;
      form.append(h('div', { class: 'field' }, h('label', { for: `pm-${k}` }, label), ta));
    }
    form.append(saveError, h('div', { class: 'row' }, saveButton, saved));
    editor.replaceChildren(form);
  }

  function show(pm, fromSave = false) {
    if (!built) { buildEditor(pm); built = true; }
    // A poll brings others' edits into fields this person has not touched.
    if (!fromSave) {
      for (const [k] of FIELDS) {
        const ta = inputs[k];
        const server = pm.fields?.[k] ?? '';
        if (ta.value === ta.dataset.saved && server !== ta.dataset.saved && document.activeElement !== ta) { ta.value = server; ta.dataset.saved = server; }
      }
    }
    patch(status, [pm.status, pm.complete, pm.missing, pm.completed_at, pm.completed_by, pm.updated_at, pm.updated_by], () => {
      const complete = h('button', { type: 'button', class: 'writes', disabled: pm.complete ? true : null }, 'Mark complete');
      complete.addEventListener('click', async () => {
        try { show(await act('POST', `${base}/complete`, {}, { errorEl: completeError, button: complete })); } catch { /* shown */ }
      });
      return h('section', { class: 'panel' },
        h('div', { class: 'line meta' }, badge(pm.complete ? 'complete' : 'draft', pm.complete ? 'st-resolved' : 'st-acknowledged'),
          pm.status ? h('span', {}, 'incident ', badge(pm.status, `st-${pm.status}`)) : null,
          pm.updated_at ? h('span', {}, 'last edited ', time(pm.updated_at), pm.updated_by ? ` by ${pm.updated_by}` : '') : null,
          pm.completed_at ? h('span', {}, 'completed ', time(pm.completed_at), ` by ${pm.completed_by}`) : null),
        (pm.missing || []).length ? h('p', { class: 'notice' }, 'Still missing before it can be completed: ', pm.missing.join(', '), '.') : null,
        completeError, complete);
    });
    patch(items, pm.action_items || [], (list) => h('section', { class: 'panel', 'aria-labelledby': 'pm-items-h' },
      h('h2', { id: 'pm-items-h' }, 'Action items'), itemError,
      list.length ? h('ul', { class: 'tasks' }, list.map(item)) : h('p', { class: 'empty' }, 'No action items yet.'),
      newItemForm()));
  }

  function item(it) {
    const boxId = `ai-${it.id}`;
    const box = h('input', { type: 'checkbox', id: boxId, checked: it.status === 'done', disabled: !canWrite() });
    box.addEventListener('change', async () => {
      const verb = box.checked ? 'done' : 'reopen';
      try { show(await act('POST', `${base}/action-items/${encodeURIComponent(it.id)}/${verb}`, {}, { errorEl: itemError, button: box })); } catch { box.checked = !box.checked; }
    });
    return h('li', { class: it.status === 'done' ? 'done' : '' }, box, h('div', {},
      h('label', { for: boxId }, it.title),
      h('div', { class: 'sub' }, `owner ${it.owner || '—'}`, it.due_at ? [' · due ', time(it.due_at)] : '', it.overdue ? [' ', badge('overdue', 'overdue')] : '',
        it.done_at ? [' · done ', time(it.done_at), it.done_by ? ` by ${it.done_by}` : ''] : '')));
  }

  function newItemForm() {
    const title = h('input', { id: 'ai-title', name: 'title', required: true, class: 'wide' });
    const owner = h('input', { id: 'ai-owner', name: 'owner', list: 'ai-people', size: 10, required: true });
    const due = h('input', { id: 'ai-due', name: 'due', type: 'date', required: true });
    const add = h('button', { type: 'submit' }, 'Add action item');
    const people = h('datalist', { id: 'ai-people' });
    get('/api/v1/people').then((r) => people.append(...r.people.map((p) => h('option', { value: p.id }, p.name)))).catch(() => {});
    return h('form', { class: 'writes', 'aria-label': 'New action item', onsubmit: async (e) => {
      e.preventDefault();
      const body = { title: title.value.trim(), owner: owner.value.trim() };
      if (due.value) body.due_at = `${due.value}T00:00:00Z`;
      try { show(await act('POST', `${base}/action-items`, body, { errorEl: itemError, button: add })); } catch (ex) {
        ({ title, owner, due_at: due })[ex.field]?.focus();
      }
    } },
    h('div', { class: 'field' }, h('label', { for: 'ai-title' }, 'New action item'), title),
    h('div', { class: 'row' },
      h('div', { class: 'field' }, h('label', { for: 'ai-owner' }, 'Owner'), owner, people),
      h('div', { class: 'field' }, h('label', { for: 'ai-due' }, 'Due'), due),
      h('div', { class: 'field' }, add)));
  }

  return {
    async refresh() {
      try {
        show(await get(`${base}?format=json`));
      } catch (e) {
        patch(status, { error: String(e) }, () => errorBox(e));
      }
    },
  };
}

// Action items across incidents: open ones by default (or done, or all), overdue marked, each
// ticked done or reopened on its incident's postmortem.
export function actionItemsPage(main, _params, query) {
  const status = ['open', 'done', 'all'].includes(query.get('status')) ? query.get('status') : 'open';
  const filter = h('select', { name: 'status', 'data-filter': '', onchange: (e) => { location.hash = `#/action-items?status=${e.target.value}`; } },
    [['open', 'open'], ['done', 'done'], ['all', 'all']].map(([v, t]) => h('option', { value: v }, t)));
  filter.value = status;
  const error = errorSlot();
  const body = h('div');
  main.append(h('div', { class: 'head' }, h('h1', {}, 'Action items'),
    h('form', { class: 'filters', 'aria-label': 'Action item filter', onsubmit: (e) => e.preventDefault() }, h('label', {}, 'Status ', filter))),
  h('p', { class: 'muted' }, 'Follow-ups from postmortems, tracked until done — also after their incident closed.'), error, body);

  async function refresh() {
    try {
      const { action_items: list } = await get(`/api/v1/action-items?status=${status}`);
      patch(body, list, () => (list.length ? h('ul', { class: 'tasks' }, list.map(row)) : h('p', { class: 'empty' }, `No ${status === 'all' ? '' : `${status} `}action items.`)));
    } catch (e) {
      patch(body, { error: String(e) }, () => errorBox(e));
    }
  }

  function row(it) {
    const boxId = `ai-${it.incident}-${it.id}`;
    const box = h('input', { type: 'checkbox', id: boxId, checked: it.status === 'done', disabled: !canWrite() });
    box.addEventListener('change', async () => {
      const verb = box.checked ? 'done' : 'reopen';
      try {
        await act('POST', `/api/v1/incidents/${it.incident}/postmortem/action-items/${encodeURIComponent(it.id)}/${verb}`, {}, { errorEl: error, button: box });
        await refresh();
      } catch { box.checked = !box.checked; }
    });
    return h('li', { class: it.status === 'done' ? 'done' : '' }, box, h('div', {},
      h('label', { for: boxId }, it.title),
      h('div', { class: 'sub' }, h('a', { href: `#/incidents/${it.incident}/postmortem` }, `#${it.incident} ${it.incident_title}`),
        ` · owner ${it.owner}`, ' · due ', time(it.due_at), it.overdue ? [' ', badge('overdue', 'overdue')] : '',
        it.done_at ? [' · done ', time(it.done_at), it.done_by ? ` by ${it.done_by}` : ''] : '')));
  }

  return { refresh };
}
