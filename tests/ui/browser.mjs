// What the browser tests share: named steps that print ok/FAIL/SKIP, a JSON API helper, and a
// headless Debian Chromium (fresh profile, no network but the server's) with the page's script
// errors and requests to other origins collected for a final check.
import { chromium } from 'playwright-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BASE = process.env.TOCSIN_URL;
if (!BASE) {
  console.error('TOCSIN_URL is not set: run through run_ui_test.py');
  process.exit(2);
}

let failures = 0;
const t0 = Date.now();
export async function step(name, fn) {
  const started = Date.now();
  try {
    const note = await fn();
    if (note && note.skip) console.log(`SKIP ${name}: ${note.skip}`);
    else console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failures += 1;
    console.log(`FAIL ${name}: ${e.stack || e}`);
  }
}
export function check(cond, what) { if (!cond) throw new Error(what); }

// One JSON request from outside the browser; `token` (optional) goes as a bearer token.
export async function api(method, path, body, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

export async function launch() {
  const profile = process.env.TOCSIN_UI_PROFILE || mkdtempSync(join(tmpdir(), 'tocsin-ui-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,  // playwright passes --headless
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    colorScheme: 'light',
    timezoneId: 'UTC',
    locale: 'en-GB',
  });
  context.setDefaultTimeout(8000);
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  const foreign = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // A 4xx from the API logs "Failed to load resource": that is expected where the test provokes one.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`);
  });
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(BASE) && !url.startsWith('data:') && !url.startsWith('about:')) foreign.push(url);
  });
  return { context, page, errors, foreign };
}

export async function checkClean({ errors, foreign }) {
  await step('offline and clean: no request left the server, no script error', async () => {
    check(foreign.length === 0, `requests to other origins: ${foreign.join(', ')}`);
    const unique = [...new Set(errors)];
    check(unique.length === 0, `${errors.length} error(s):\n${unique.slice(0, 5).map((e) => e.slice(0, 300)).join('\n')}`);
  });
}

export async function finish(context, out) {
  await context.close();
  console.log(`${failures ? 'FAILED' : 'passed'}: ${failures} failure(s) in ${((Date.now() - t0) / 1000).toFixed(1)} s${out ? `; screenshots in ${out}` : ''}`);
  process.exit(failures ? 1 : 0);
}
