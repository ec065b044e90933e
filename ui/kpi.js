// The KPI dashboard (GET /api/v1/kpi): tiles of the overall KPIs, a table per group (plan,
// service or severity), trend sparklines drawn here from the JSON, and the drills' record.
import { h, get, patch, table, errorBox, duration, percent, sparkline } from './lib.js';

// [key, label, format, "lower is better"]
const KPIS = [
  ['incidents', 'Incidents', (v) => (v ?? '—')],
  ['mtta_seconds', 'MTTA', duration, true],
  ['mtta_p90_seconds', 'MTTA p90', duration, true],
  ['mttr_seconds', 'MTTR', duration, true],
  ['mttr_p90_seconds', 'MTTR p90', duration, true],
  ['mtbf_seconds', 'MTBF', duration],
  ['resolution_ratio', 'Resolved', percent],
  ['on_time_step_ratio', 'Steps on time', percent],
  ['escalation_rate', 'Escalated', percent, true],
  ['alerts_per_incident', 'Alerts per incident', (v) => (v === null || v === undefined ? '—' : v.toFixed(1))],
  ['flapping_alerts', 'Flapping alerts', (v) => (v ?? '—'), true],
  ['silenced_share', 'Silenced alerts', percent],
  ['action_item_completion', 'Action items done', percent],
];
const TRENDS = ['incidents', 'mtta_seconds', 'mttr_seconds', 'resolution_ratio', 'on_time_step_ratio', 'escalation_rate'];
const TABLE = ['incidents', 'mtta_seconds', 'mttr_seconds', 'resolution_ratio', 'on_time_step_ratio', 'escalation_rate'];
const kpi = (key) => KPIS.find((k) => k[0] === key);
const periodLabel = (p) => new Date(p.start).toLocaleDateString([], { month: 'short', day: 'numeric' });

export function kpiPage(main, _params, query) {
  const since = query.get('since') || '30d';
  const by = query.get('by') || 'plan';
  const period = query.get('period') || 'week';
  const scope = query.get('scope') || 'real';
  const form = h('form', { class: 'filters', 'aria-label': 'KPI window', onsubmit: (e) => e.preventDefault() });
  const sel = (name, label, options, value, extra = {}) => {
    const el = h('select', { name, onchange: () => { location.hash = `#/kpi?${new URLSearchParams(new FormData(form))}`; }, ...extra },
      options.map(([v, t]) => h('option', { value: v }, t)));
    el.value = value;
    return h('label', {}, label, el);
  };
  form.append(
    sel('since', 'Since', [['7d', 'last 7 days'], ['30d', 'last 30 days'], ['90d', 'last 90 days'], ['365d', 'last year']], since, { 'data-filter': '' }),
    sel('by', 'Group by', [['plan', 'plan'], ['service', 'service'], ['severity', 'severity']], by),
    sel('period', 'Trend per', [['day', 'day'], ['week', 'week'], ['month', 'month']], period),
    sel('scope', 'Incidents', [['real', 'real ones'], ['drills', 'drills'], ['all', 'both']], scope));
  const body = h('div');
  main.append(h('div', { class: 'head' }, h('h1', {}, 'KPIs'), h('a', { class: 'button ghost', href: '#/action-items' }, 'Action items')), form, body);
  return {
    async refresh() {
      try {
        const data = await get(`/api/v1/kpi?since=${encodeURIComponent(since)}&by=${by}&period=${period}&scope=${scope}`);
        patch(body, data, render);
      } catch (e) {
        patch(body, { error: String(e) }, () => errorBox(e));
      }
    },
  };
}

function render(d) {
  const o = d.overall || {};
  return [
    h('p', { class: 'muted' }, `${new Date(d.since).toLocaleString()} – ${new Date(d.until).toLocaleString()}`),
    h('section', { 'aria-labelledby': 'kpi-overall-h' }, h('h2', { id: 'kpi-overall-h', class: 'visually-hidden' }, 'Overall'),
      h('div', { class: 'tiles', 'data-kpi-tiles': '' }, KPIS.filter(([k]) => k in o).map(([k, label, fmt]) => h('div', { class: 'tile' },
        h('div', { class: 'k' }, label), h('div', { class: 'v', 'data-kpi': k }, fmt(o[k])))))),
    h('section', { class: 'panel', 'aria-labelledby': 'kpi-trend-h' }, h('h2', { id: 'kpi-trend-h' }, `Trend per ${d.period}`),
        (d.trend || []).length ? h('div', { class: 'sparks' }, TRENDS.map((k) => {
          const [, label, fmt] = kpi(k);
          return h('figure', { class: 'plain' }, h('figcaption', {}, label),
            sparkline(d.trend.map((p) => ({ label: periodLabel(p), value: p.kpi?.[k] ?? null })), { title: `${label} per ${d.period}`, format: fmt }));
        })) : h('p', { class: 'empty' }, 'No periods yet.')),
    h('section', { class: 'panel', 'aria-labelledby': 'kpi-groups-h' }, h('h2', { id: 'kpi-groups-h' }, `By ${d.by}`),
        table([d.by, ...TABLE.map((k) => ({ label: kpi(k)[1], num: true }))],
          (d.groups || []).map((g) => [h('code', {}, g.key || '(none)'), ...TABLE.map((k) => kpi(k)[2](g.kpi?.[k]))]), { caption: `KPIs by ${d.by}` })),
    d.drills ? drills(d.drills) : null,
  ];
}

function drills(dr) {
  return h('section', { class: 'panel', 'aria-labelledby': 'kpi-drills-h' }, h('h2', { id: 'kpi-drills-h' }, 'Drills'),
    h('div', { class: 'tiles' },
      h('div', { class: 'tile' }, h('div', { class: 'k' }, 'Runs'), h('div', { class: 'v' }, dr.runs ?? 0)),
      h('div', { class: 'tile' }, h('div', { class: 'k' }, 'Mean score'), h('div', { class: 'v', 'data-kpi': 'drills.mean_score' }, score(dr.mean_score))),
      h('div', { class: 'tile' }, h('div', { class: 'k' }, 'Passed'), h('div', { class: 'v' }, percent(dr.passed_share)))),
    (dr.trend || []).length ? h('figure', { class: 'plain' }, h('figcaption', {}, 'Mean drill score'),
      sparkline(dr.trend.map((p) => ({ label: periodLabel(p), value: p.mean_score ?? null })), { title: 'Mean drill score per period', format: (v) => v.toFixed(1) })) : null,
    (dr.by_plan || []).length ? table(['plan', { label: 'runs', num: true }, { label: 'mean score', num: true }, { label: 'last score', num: true }],
      dr.by_plan.map((p) => [h('code', {}, p.plan ?? '—'), p.runs ?? '—', score(p.mean_score), score(p.last_score)]), { caption: 'Drills by plan' }) : null);
}

function score(v) {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(1);
}
