// The privacy promise, checked in headless Chromium:
//  - the page says up front, before anything has loaded, that images never leave the computer;
//  - its Content-Security-Policy is strict, and a whole session (service worker, manifest, workers,
//    ONNX Runtime's threads included) triggers no violation of it;
//  - no request leaves the origin during a whole session: opening the page, the sample segmented,
//    a dropped image segmented, another run, every export, a share link, the landing page and the
//    lessons. Two independent witnesses: Playwright sees every request of the browser context (pages,
//    workers and the service worker), and Chromium is given a recording proxy for everything that is
//    not this computer, so a request Playwright failed to report would still be caught there (all but
//    Chromium's own calls to its vendor's account and update services, which it makes for any page).
//
// Needs: bash scripts/build.sh wasm site.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  openApp, assertClean, waitForResult, dropFile, synthImage, sha256File, READY_TIMEOUT_MS, testBed,
} from './harness.mjs';

let proxy, proxied = [];

// Hosts Chromium contacts by itself, whatever page is open (sign-in state, component updates).
const BROWSER_OWN = /^CONNECT (accounts\.google\.com|clients\d*\.google\.com|[a-z0-9.-]+\.gvt1\.com|[a-z0-9-]+\.googleapis\.com):443$/;

// A proxy that answers nothing and writes down every request sent to it (plain HTTP and CONNECT).
function startRecordingProxy() {
  return new Promise((resolve) => {
    const p = http.createServer((req, res) => {
      proxied.push(`${req.method} ${req.url}`);
      res.writeHead(403);
      res.end();
    });
    p.on('connect', (req, socket) => {
      proxied.push(`CONNECT ${req.url}`);
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
    });
    p.listen(0, '127.0.0.1', () => resolve(p));
  });
}

// Every violation of the page's policy, recorded from the first script on.
const RECORD_VIOLATIONS = () => {
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
  });
};

const bed = testBed({
  tmp: 'privacy',
  prepare: async (bed) => {
    proxy = await startRecordingProxy();
    bed.cleanups.push(() => proxy.close());
    // Loopback addresses bypass a proxy in Chromium, so only requests to anywhere else reach it.
    bed.launchArgs = [`--proxy-server=http://127.0.0.1:${proxy.address().port}`];
  },
});

test('the page says up front that images never leave the computer', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1100, height: 760 } });
  const page = await context.newPage();
  // Before the program has even been fetched: the sentence is in the HTML itself.
  await page.route('**/celldrop-app.js', (route) => new Promise((resolve) => setTimeout(() => resolve(route.continue()), 3000)));
  await page.goto(`${bed.origin}/app/`, { waitUntil: 'domcontentloaded' });
  const privacy = page.locator('header .privacy');
  assert.equal(await privacy.isVisible(), true);
  assert.match(await privacy.innerText(), /never leave this computer/i);
  assert.match(await privacy.innerText(), /nothing is uploaded/i);
  const box = await privacy.boundingBox();
  assert.ok(box.y < 100, `the sentence should be at the top of the page: y = ${box.y}`);
  await context.close();
});

test('the Content-Security-Policy is strict, and a whole session breaks none of it', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1100, height: 760 } });
  await context.addInitScript(RECORD_VIOLATIONS);
  const { page, problems } = await openApp(context, bed.origin);
  const csp = await page.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.content ?? '');
  const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([k, ...v]) => [k, v]));
  assert.deepEqual(directives['default-src'], ["'self'"]);
  assert.deepEqual(directives['script-src'], ["'self'", "'wasm-unsafe-eval'"], 'only this site\'s scripts, and WebAssembly');
  assert.deepEqual(directives['style-src'], ["'self'"]);
  assert.deepEqual(directives['object-src'], ["'none'"]);
  assert.deepEqual(directives['base-uri'], ["'none'"]);
  assert.deepEqual(directives['form-action'], ["'none'"]);
  assert.deepEqual(directives['worker-src'], ["'self'", 'blob:']);
  for (const [name, sources] of Object.entries(directives)) {
    for (const s of sources) {
      assert.ok(!/unsafe-inline|unsafe-eval|\*/.test(s) || s === "'wasm-unsafe-eval'", `${name} allows ${s}`);
      if (name !== 'connect-src') assert.ok(!/^https?:/.test(s), `${name} allows other hosts (${s}): only connect-src may, for ?image=`);
    }
  }
  // The session: the sample segmented, the service worker in control, the manifest read, one more run.
  await waitForResult(page);
  await page.waitForFunction(() => !!navigator.serviceWorker.controller, null, { timeout: READY_TIMEOUT_MS });
  await page.evaluate(() => window.celldrop.run({ prob_thresh: 0.55 }));
  assert.deepEqual(await page.evaluate(() => window.__cspViolations), [], 'Content-Security-Policy violations');
  assertClean(problems);
  await context.close();
});

test('no request leaves the origin during a whole session', async () => {
  proxied = [];
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 820 }, acceptDownloads: true });
  const everyRequest = [];
  context.on('request', (r) => everyRequest.push(r.url()));
  // Anything for another origin is refused here as well as recorded, so nothing could get out.
  const refused = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.origin === bed.origin || url.protocol === 'data:' || url.protocol === 'blob:') return route.continue();
    refused.push(url.href);
    return route.abort('blockedbyclient');
  });

  const { page, problems } = await openApp(context, bed.origin);
  await waitForResult(page);
  await page.waitForFunction(() => !!navigator.serviceWorker.controller, null, { timeout: READY_TIMEOUT_MS });
  const image = synthImage(bed.tmp, 5);
  await dropFile(page, image, 'dropped.png');
  await waitForResult(page, sha256File(image));
  await page.evaluate(() => window.celldrop.run({ prob_thresh: 0.5 }));
  const exported = await page.evaluate(() => ['labels_png', 'labels_tiff', 'csv', 'geojson', 'roi', 'record', 'overlay_png']
    .map((k) => [k, window.celldrop.export(k).bytes.length]));
  for (const [key, size] of exported) assert.ok(size > 0, `the export ${key} is empty`);
  const link = await page.evaluate(() => window.celldrop.shareLink());
  assert.ok(link.startsWith(`${bed.origin}/app/`), link);
  const linked = await openApp(context, bed.origin, link.slice(`${bed.origin}/app/`.length));
  await waitForResult(linked.page);
  // The rest of the site.
  const other = await context.newPage();
  for (const p of ['/', '/lessons/', '/lessons/instance-masks/', '/lessons/training/', '/lessons/scoring/', '/lessons/measuring/']) {
    const r = await other.goto(`${bed.origin}${p}`);
    assert.equal(r.status(), 200, p);
  }

  const foreign = everyRequest.filter((u) => !u.startsWith(`${bed.origin}/`) && !/^(data|blob):/.test(u));
  assert.ok(everyRequest.length > 20, `Playwright should have seen the session's requests: ${everyRequest.length}`);
  assert.ok(everyRequest.some((u) => u.endsWith('.onnx')), 'the model download (worker or service worker) should be seen');
  assert.deepEqual(foreign, [], 'requests to other origins (seen by Playwright)');
  assert.deepEqual(refused, [], 'requests to other origins (refused by the route)');
  // Chromium itself (not the page: Playwright, which sees the page, its workers and its service
  // worker, saw none of them) may call its vendor's account and update services; anything else is ours.
  const ours = proxied.filter((r) => !BROWSER_OWN.test(r));
  assert.deepEqual(ours, [], 'requests to other hosts (seen by the recording proxy)');
  assertClean(problems);
  assertClean(linked.problems);
  await context.close();
});

test('the recording proxy does see a request to another host (the witness works)', async () => {
  proxied = [];
  const context = await bed.browser.newContext();
  const page = await context.newPage();
  await page.goto('about:blank');
  await page.evaluate(() => fetch('http://celldrop-privacy-check.example/').catch(() => null));
  await context.close();
  assert.ok(proxied.some((r) => r.includes('celldrop-privacy-check.example')), `the proxy saw: ${JSON.stringify(proxied)}`);
});
