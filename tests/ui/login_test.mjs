// Browser test of signing in (docs/ui.md#signing-in), against a server with auth on:
// run_ui_test.py --login starts it with a viewer and a responder token and passes them in
// TOCSIN_VIEWER_TOKEN / TOCSIN_RESPONDER_TOKEN. The page must ask for a token, refuse a wrong
// one, let a viewer look but not act, let a responder act, keep the session cookie out of the
// page's reach, refuse a write without the CSRF token, and sign out.
import { BASE, step, check, api, launch, checkClean, finish } from './browser.mjs';

const VIEWER = process.env.TOCSIN_VIEWER_TOKEN;
const RESPONDER = process.env.TOCSIN_RESPONDER_TOKEN;
check(VIEWER && RESPONDER, 'TOCSIN_VIEWER_TOKEN and TOCSIN_RESPONDER_TOKEN must be set');

// An incident, through the API with the responder's bearer token.
const push = await api('POST', '/api/v1/push', [{ name: 'system_load', labels: { service: 'api', instance: 'h1' }, value: 0.97 }], RESPONDER);
check(push.status === 200, `push: ${push.status} ${push.text}`);
// The server runs on real time: the rule's `for` (2 s) passes by itself while the browser starts.
const anonymous = await api('GET', '/api/v1/incidents');
check(anonymous.status === 401, `GET /api/v1/incidents without a token: expected 401, got ${anonymous.status}`);

const browser = await launch();
const { context, page } = browser;

async function signIn(token) {
  await page.locator('#signin-token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

await step('the UI asks for a token instead of showing data', async () => {
  await page.goto(BASE + '/#/incidents');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  check(await page.locator('.card').count() === 0, 'incident cards shown before signing in');
});

await step('a wrong token is refused on the form', async () => {
  await signIn('not-a-token-of-this-server');
  await page.locator('#signin-error').filter({ hasText: /./ }).waitFor();
  check(await page.getByRole('heading', { name: 'Sign in' }).count() === 1, 'left the sign-in form');
});

let incidentId = null;
await step('a viewer signs in and sees the incidents; the header says who and what role', async () => {
  await signIn(VIEWER);
  const card = page.locator('.card').first();
  await card.waitFor({ timeout: 15000 });
  const who = await page.locator('#session').innerText();
  check(/viewer/.test(who), `header: ${who}`);
  incidentId = (await card.locator('a.title').innerText()).match(/#(\d+)/)[1];
});

await step('the session cookie is HttpOnly: the page cannot read it', async () => {
  const cookies = await context.cookies(BASE);
  const session = cookies.find((c) => c.name === 'tocsin_session');
  check(session, `no tocsin_session cookie: ${JSON.stringify(cookies.map((c) => c.name))}`);
  check(session.httpOnly, 'tocsin_session is not HttpOnly');
  check(session.sameSite === 'Strict', `SameSite is ${session.sameSite}`);
  check(!(await page.evaluate(() => document.cookie)).includes('tocsin_session'), 'document.cookie shows the session');
});

await step('a viewer sees the incident read-only: no control that writes, and the header says so', async () => {
  await page.goto(`${BASE}/#/incidents/${incidentId}`);
  await page.locator('h1', { hasText: `#${incidentId} ` }).waitFor();
  await page.locator('.timeline li').first().waitFor();
  check(/read-only/.test(await page.locator('#session').innerText()), 'header does not say read-only');
  for (const name of ['Acknowledge', 'Add note', 'Record milestone']) {
    check(!(await page.getByRole('button', { name }).isVisible()), `"${name}" is shown to a viewer`);
  }
  check(!(await page.locator('#severity').isVisible()), 'the severity control is shown to a viewer');
  const boxes = page.locator('.tasks input[type=checkbox]');
  for (let i = 0; i < await boxes.count(); i++) check(await boxes.nth(i).isDisabled(), `task checkbox ${i} is enabled for a viewer`);
  await page.goto(`${BASE}/#/silences`);
  await page.locator('h1', { hasText: 'Silences' }).waitFor();
  check(!(await page.getByRole('button', { name: 'Create silence' }).isVisible()), 'the silence form is shown to a viewer');
});

await step('a viewer token\'s write is still refused by the server, naming the role needed', async () => {
  // The hidden controls are a courtesy: the server is what refuses (403), whatever the client.
  const r = await api('POST', `/api/v1/incidents/${incidentId}/ack`, { actor: 'alice' }, VIEWER);
  check(r.status === 403 && /responder/.test(r.text), `expected 403 naming responder, got ${r.status} ${r.text}`);
  const inc = await api('GET', `/api/v1/incidents/${incidentId}`, undefined, RESPONDER);
  check(inc.json.status === 'triggered', `status changed to ${inc.json.status}`);
});

await step('sign out: back to the form, and the old cookie no longer works', async () => {
  const before = (await context.cookies(BASE)).find((c) => c.name === 'tocsin_session');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  const res = await fetch(`${BASE}/api/v1/incidents`, { headers: { Cookie: `tocsin_session=${before.value}` } });
  check(res.status === 401, `the signed-out cookie still answers ${res.status}`);
});

await step('a responder signs in and acknowledges from the page', async () => {
  await signIn(RESPONDER);
  await page.goto(`${BASE}/#/incidents/${incidentId}`);
  await page.locator('#actor').selectOption('alice');
  await page.getByRole('button', { name: 'Acknowledge' }).click();
  await page.locator('.badge', { hasText: 'acknowledged' }).first().waitFor();
  const inc = await api('GET', `/api/v1/incidents/${incidentId}`, undefined, RESPONDER);
  check(inc.json.status === 'acknowledged', `status ${inc.json.status}`);
});

await step('a reload keeps the session', async () => {
  await page.reload();
  await page.locator('h1', { hasText: `#${incidentId} ` }).waitFor();
  check(/responder/.test(await page.locator('#session').innerText()), 'not signed in after a reload');
});

await step('a write riding on the cookie without the CSRF token is refused (403) and changes nothing', async () => {
  const r = await page.evaluate(async (id) => {
    const res = await fetch(`/api/v1/incidents/${id}/notes`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ text: 'forged', actor: 'alice' }) });
    return { status: res.status, text: await res.text() };
  }, incidentId);
  check(r.status === 403 && /CSRF/i.test(r.text), `expected 403 naming CSRF, got ${r.status} ${r.text}`);
  const inc = await api('GET', `/api/v1/incidents/${incidentId}`, undefined, RESPONDER);
  check(!inc.json.timeline.some((e) => (e.detail || '').includes('forged')), 'the forged note was recorded');
});

await checkClean(browser);
await finish(context);
