// Read-mostly pages: rules with their series charts, who is on call, plans, the risk register
// and its heat map, drills and their scorecards.
import { h, get, patch, badge, time, table, errorBox, duration, percent, serverNow } from './lib.js';
import { updateAges } from './incidents.js';

// A page that GETs `path` every poll and renders it with `render(data)` into one container.
function simplePage(main, title, path, render, intro = null) {
  const body = h('div');
  main.append(h('div', { class: 'head' }, h('h1', {}, title)), ...[intro, body].filter(Boolean));
  return {
    async refresh() {
      try {
        const data = await get(typeof path === 'function' ? path() : path);
        patch(body, data, render);
      } catch (e) {
        patch(body, { error: String(e) }, () => errorBox(e));
      }
      updateAges(body);
    },
  };
}

// ---- rules --------------------------------------------------------------------------------

const CHART_WINDOW_MS = 6 * 3600e3;
// The chart's start moves in whole minutes, so a poll does not reload every picture.
const chartStart = () => new Date(Math.floor((serverNow() - CHART_WINDOW_MS) / 60e3) * 60e3).toISOString();

export function rulesPage(main) {
  return simplePage(main, 'Rules', '/api/v1/rules', ({ rules }) => {
    const start = chartStart();
    return rules.length ? h('ul', { class: 'cards' }, rules.map((r) => {
      const img = h('img', {
        class: 'chart', loading: 'lazy', decoding: 'async', width: 800, height: 240,
        src: `/api/v1/rules/${encodeURIComponent(r.name)}/chart.svg?start=${encodeURIComponent(start)}`,
        alt: `Series of rule ${r.name} over the last 6 hours, with its threshold and firing spans`,
      });
      img.addEventListener('error', () => img.replaceWith(h('p', { class: 'empty' }, 'No chart for this rule yet.')));
      const a = r.alerts || {};
      return h('li', { class: 'card' },
        h('div', { class: 'line' }, h('h2', { class: 'inline' }, r.name), badge(r.severity || 'none', `sev-${r.severity}`),
          badge(r.health, r.health === 'ok' ? 'st-resolved' : 'st-triggered'),
          a.firing ? badge(`${a.firing} firing`, 'st-firing') : null, a.pending ? badge(`${a.pending} pending`, 'st-pending') : null,
          a.flapping ? badge(`${a.flapping} flapping`, 'st-mitigated') : null),
        h('div', { class: 'meta' }, h('code', {}, r.select), h('span', {}, r.condition || r.detector?.kind),
          h('span', {}, `for ${r.for}`), h('span', {}, `${r.series} series`), r.labels?.incident_type ? h('span', {}, 'raises ', h('code', {}, r.labels.incident_type)) : null),
        r.last_error ? h('p', { class: 'error' }, r.last_error) : null,
        h('details', { open: rules.length <= 6 }, h('summary', {}, 'Chart (last 6 h)'), img));
    })) : h('p', { class: 'empty' }, 'No rules configured.');
  });
}

// ---- on call ------------------------------------------------------------------------------

export function oncallPage(main) {
  return simplePage(main, 'On call now', '/api/v1/oncall', ({ at, schedules }) => [
    h('p', { class: 'muted' }, 'As of ', time(at)),
    schedules.length ? h('ul', { class: 'cards' }, schedules.map((s) => h('li', { class: 'card' },
      h('h2', {}, s.id, ' ', h('span', { class: 'muted' }, `(${s.timezone})`)),
      s.on_call.length
        ? h('ul', {}, s.on_call.map((p) => h('li', {}, h('strong', {}, p.name), ` (${p.person}) since `, time(p.from), ' until ', time(p.until), h('span', { class: 'muted' }, ` · ${p.source}`))))
        : h('p', { class: 'error' }, 'Nobody is on call on this schedule.'),
      h('p', { class: 'muted' }, 'Next hand-off: ', s.next_handoff ? [time(s.next_handoff), ' (', h('span', { 'data-since': s.next_handoff }), ')'] : 'none')))) : h('p', { class: 'empty' }, 'No schedules configured.'),
  ]);
}

// ---- plans --------------------------------------------------------------------------------

export function plansPage(main) {
  return simplePage(main, 'Emergency plans', '/api/v1/plans', ({ plans, review_overdue, drill_overdue }) => [
    review_overdue || drill_overdue ? h('p', { class: 'notice' }, `${review_overdue} plan review(s) and ${drill_overdue} drill(s) overdue.`) : null,
    h('ul', { class: 'cards' }, plans.map((p) => h('li', { class: 'card' },
      h('div', { class: 'line' }, h('h2', { class: 'inline' }, p.title), badge(p.severity, `sev-${p.severity}`),
        p.review?.overdue ? badge('review overdue', 'overdue') : null, p.drill?.overdue ? badge('drill due', 'overdue') : null),
      h('div', { class: 'meta' }, h('code', {}, p.id), h('span', {}, 'matches ', p.match.map((m) => h('code', {}, m, ' '))), h('span', {}, `escalation ${p.escalation || '—'}`)),
      h('details', {}, h('summary', {}, `${p.steps.length} steps, ${p.roles.length} roles`),
        h('h3', {}, 'Roles'),
        table(['role', 'filled by', 'now'], p.roles.map((r) => [r.role, h('code', {}, r.target), r.now || h('span', { class: 'error' }, 'nobody')])),
        h('h3', {}, 'Steps'),
        h('ol', {}, p.steps.map((s) => h('li', {}, h('strong', {}, s.title), ` — ${s.owner}, due ${s.due}`,
          s.action ? h('span', { class: 'muted' }, ` · automated ${s.action.type}${s.action.approve ? ' (needs approval)' : ''}`) : null))),
        p.resources.length ? [h('h3', {}, 'Resources'), table(['name', 'kind', 'ref'], p.resources.map((r) => [r.name, r.kind, h('code', {}, r.ref)]))] : null,
        p.clocks.length ? [h('h3', {}, 'Clocks'), h('ul', {}, p.clocks.map((c) => h('li', {}, `${c.name}: ${c.within ? `within ${c.within}` : `every ${c.every}`} from ${c.from}, owner ${c.owner}`)))] : null,
        h('p', { class: 'muted' }, `Review every ${p.review?.every || '—'}; last reviewed ${p.review?.reviewed || 'never'}`,
          p.drill ? `; drill every ${p.drill.every}, last ${p.drill.last_run ? new Date(p.drill.last_run).toLocaleDateString() : 'never'}` : ''))))),
  ]);
}

// ---- risk ---------------------------------------------------------------------------------

export function riskPage(main) {
  return simplePage(main, 'Risk register', '/api/v1/risk', ({ risks }) => [
    h('figure', { class: 'panel plain' },
      h('img', { class: 'chart', src: '/api/v1/risk/heatmap.svg', alt: `Risk heat map: ${risks.length} risks placed by likelihood and impact` }),
      h('figcaption', { class: 'muted' }, 'Likelihood × impact; highest score first below.')),
    table(['risk', 'likelihood', 'impact', { label: 'score', num: true }, 'level', 'owner', 'plan', 'review'], risks.map((r) => [
      h('span', {}, h('strong', {}, r.title), h('br'), h('code', { class: 'muted' }, r.id)),
      r.likelihood ?? h('span', { class: 'muted' }, r.source === 'model' ? 'model (not run yet)' : '—'),
      r.impact, r.score ?? '—', r.level ? badge(r.level, `lvl-${r.level}`) : '—', r.owner || '—', r.plan ? h('code', {}, r.plan) : '—',
      r.review_overdue ? badge(`overdue ${r.review}`, 'overdue') : (r.review || '—')]), { caption: 'Risks' }),
  ]);
}

// ---- drills -------------------------------------------------------------------------------

export function drillsPage(main) {
  return simplePage(main, 'Drills', '/api/v1/drills', ({ drills, calendar, live, drill_overdue }) => [
    live.length ? h('p', { class: 'notice' }, `${live.length} live drill(s) running: `, live.map((d) => `${d.scenario} (${d.plan})`).join(', ')) : null,
    h('section', { class: 'panel' }, h('h2', {}, 'Calendar', drill_overdue ? [' ', badge(`${drill_overdue} overdue`, 'overdue')] : null),
      table(['plan', 'every', 'last run', 'next due'], calendar.map((c) => [h('code', {}, c.plan), c.every, c.last_run ? time(c.last_run) : 'never',
        c.overdue ? badge('due now', 'overdue') : time(c.next_due)]))),
    h('section', { class: 'panel' }, h('h2', {}, 'Runs'),
      table(['run', 'scenario', 'mode', { label: 'score', num: true }, 'result', 'ran'], drills.map((d) => [
        h('a', { class: 'title', href: `#/drills/${d.id}` }, `#${d.id}`), d.scenario, d.mode, d.score.toFixed(1),
        badge(d.passed ? 'passed' : 'failed', d.passed ? 'passed' : 'failed'), time(d.ran_at)]))),
  ]);
}

export function drillPage(main, [id]) {
  return simplePage(main, `Drill #${id}`, `/api/v1/drills/${id}`, (d) => {
    const c = d.scorecard || {};
    const tiles = [
      ['Score', `${d.score.toFixed(1)} / 100`], ['Result', d.passed ? 'passed' : 'failed'],
      ['Detect', duration(c.time_to_detect_seconds)], ['Acknowledge', duration(c.time_to_acknowledge_seconds)],
      ['Mitigate', duration(c.time_to_mitigate_seconds)], ['Resolve', duration(c.time_to_resolve_seconds)],
      ['Expectations', c.expectations ? `${c.expectations_met} of ${c.expectations.length}` : '—'], ['Escalations', c.escalations ?? '—'],
    ];
    return [
      h('p', {}, h('a', { href: '#/drills' }, '← Drills')),
      h('p', { class: 'meta' }, h('span', {}, d.scenario), h('code', {}, d.plan), h('span', {}, d.mode), h('span', {}, 'ran ', time(d.ran_at)),
        c.incident ? h('a', { href: `#/incidents/${c.incident}` }, `incident #${c.incident}`) : null),
      h('div', { class: 'tiles' }, tiles.map(([k, v]) => h('div', { class: 'tile' }, h('div', { class: 'k' }, k), h('div', { class: 'v' }, v)))),
      c.score_parts ? h('p', { class: 'muted' }, `Score parts: expectations ${percent(c.score_parts.expectations)}, steps ${percent(c.score_parts.steps)}, pages ${percent(c.score_parts.pages)}`) : null,
      c.steps ? h('section', { class: 'panel' }, h('h2', {}, 'Steps'), table(['step', 'owner', 'outcome', 'done by'], c.steps.map((s) => [s.title, `${s.owner}${s.assignee ? ` → ${s.assignee}` : ''}`,
        badge(s.outcome.replaceAll('_', ' '), s.outcome === 'on_time' ? 'st-done' : 'overdue'), s.done_by || '—']))) : null,
      c.findings?.length ? h('section', { class: 'panel' }, h('h2', {}, 'Findings'), h('ul', {}, c.findings.map((f) => h('li', {}, f.text)))) : null,
      c.training_plan?.length ? h('section', { class: 'panel' }, h('h2', {}, 'Training plan'), h('ul', {}, c.training_plan.map((r) => h('li', {}, h('strong', {}, r.who), ': ', r.text)))) : null,
      c.people?.length ? h('section', { class: 'panel' }, h('h2', {}, 'People'), table(['person', { label: 'pages', num: true }, { label: 'answered', num: true }, { label: 'missed', num: true }, { label: 'steps done', num: true }],
        c.people.map((p) => [p.person, p.pages, p.answered, p.missed, p.steps_done]))) : null,
    ];
  });
}

