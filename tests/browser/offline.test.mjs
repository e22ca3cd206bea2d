// The service worker (web/sw.js, registered by web/offline.js) in headless Chromium:
//  - a second visit works with the network off: the server is stopped and the context set offline
//    after a first visit, and the page still loads and segments its sample, with the same count;
//  - a static host that sends no COOP/COEP (serve.mjs --plain) still ends up cross-origin isolated,
//    after exactly one automatic reload, and the worker then runs ONNX Runtime on two threads;
//  - a new build (a changed build.js) replaces the cached files and the old cache;
//  - the manifest makes the app installable and registers it for TIFF, PNG and JPEG files, and a
//    file the operating system launches the app with reaches the page.
//
// Needs: bash scripts/build.sh wasm site.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
  SITE, CHROMIUM, CHROMIUM_ARGS, READY_TIMEOUT_MS, RUN_TIMEOUT_MS, startServer, launch, synthImage, sha256File,
  waitForResult,
} from './harness.mjs';

let chromium, browser, tmp;

function stopServer(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', resolve);
    child.kill();
  });
}

function headersOf(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      res.resume();
      resolve(res.headers);
    }).on('error', reject);
  });
}

function buildIdOf(site) {
  const m = /"id":\s*"([0-9a-f]+)"/.exec(fs.readFileSync(path.join(site, 'app', 'build.js'), 'utf8'));
  assert.ok(m, 'build.js names no build id');
  return m[1];
}

before(async () => {
  ({ chromium } = await import('playwright-core'));
  assert.ok(fs.existsSync(path.join(SITE, 'app', 'build.js')), `${SITE} holds no assembled site with build.js: run bash scripts/build.sh wasm site first`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'celldrop-offline-'));
  browser = await launch();
});

after(async () => {
  await browser?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const seg = (page) => page.evaluate(() => window.celldropShell?.segmentation ?? null);

async function waitForSeg(page, predicate, what, timeout = RUN_TIMEOUT_MS) {
  const deadline = Date.now() + timeout;
  let s;
  while (Date.now() < deadline) {
    s = await seg(page).catch(() => null);  // null while a reload replaces the document
    if (s && predicate(s)) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}; last state: ${JSON.stringify(s)}`);
}

// Polls a page-side expression across reloads (an evaluate that meets a navigation is retried).
async function waitInPage(page, fn, what, timeout = READY_TIMEOUT_MS) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await page.evaluate(fn);
      if (last) return last;
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}

// The worker has taken this page and finished filling its cache.
const controlled = () => (async () => {
  if (!navigator.serviceWorker.controller) return false;
  const keys = await caches.keys();
  return keys.length === 1 ? keys[0] : false;
})();

async function cachedPaths(page) {
  return page.evaluate(async () => {
    const cache = await caches.open((await caches.keys())[0]);
    return (await cache.keys()).map((r) => new URL(r.url).pathname).sort();
  });
}

test('a second visit works with the network off: the page loads and segments the sample', async () => {
  const { child: server, origin } = await startServer(SITE);
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  try {
    const page = await context.newPage();
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${origin}/app/`);
    await page.waitForFunction(() => window.celldropShell?.ready === true, null, { timeout: READY_TIMEOUT_MS });
    const online = await waitForSeg(page, (x) => x.runs >= 1 || x.error, 'the first run online');
    assert.equal(online.error, null);
    assert.ok(online.count > 0, JSON.stringify(online));
    const cacheName = await waitInPage(page, controlled, 'the service worker to control the page');
    assert.equal(cacheName, `celldrop-${buildIdOf(SITE)}`, 'the cache is named after this build');
    const stored = await cachedPaths(page);
    const model = online.model;
    for (const p of ['/app/', '/app/index.html', '/app/celldrop-app.wasm', '/app/celldrop-worker.wasm', '/app/worker.js',
      '/app/ort/ort-wasm-simd-threaded.wasm', '/app/manifest.webmanifest', '/models/index.json', `/models/${model}.json`]) {
      assert.ok(stored.includes(p), `${p} should be cached: ${stored.join(' ')}`);
    }
    const card = JSON.parse(fs.readFileSync(path.join(SITE, 'models', `${model}.json`), 'utf8'));
    assert.ok(stored.includes(`/models/${card.onnx.file}`), `the model file ${card.onnx.file} should be cached`);

    // The network off, for real: the server is gone, and the browser is told it is offline.
    await stopServer(server);
    await context.setOffline(true);
    assert.equal(await page.evaluate(async () => {
      try {
        await fetch(`/app/not-cached-${Date.now()}`);
        return 'answered';
      } catch {
        return 'failed';
      }
    }), 'failed', 'a file that was never cached must not load now');

    // A range of a cached model (how a large file may be read in parts) is cut from the cache.
    const onnxBytes = fs.readFileSync(path.join(SITE, 'models', card.onnx.file));
    const part = await page.evaluate(async (file) => {
      const r = await fetch(`/models/${file}`, { headers: { Range: 'bytes=100-163' } });
      return { status: r.status, range: r.headers.get('content-range'), bytes: Array.from(new Uint8Array(await r.arrayBuffer())) };
    }, card.onnx.file);
    assert.equal(part.status, 206);
    assert.equal(part.range, `bytes 100-163/${onnxBytes.length}`);
    assert.deepEqual(part.bytes, Array.from(onnxBytes.subarray(100, 164)));

    // A second visit: a new tab on the same address.
    const again = await context.newPage();
    again.on('pageerror', (e) => pageErrors.push(e.message));
    await again.goto(`${origin}/app/`);
    await again.waitForFunction(() => window.celldropShell?.ready === true, null, { timeout: READY_TIMEOUT_MS });
    const offline = await waitForSeg(again, (x) => x.runs >= 1 || x.error, 'the first run offline');
    assert.equal(offline.error, null, 'segmenting offline');
    assert.equal(offline.model, online.model);
    assert.equal(offline.count, online.count, 'the same objects offline as online');
    assert.equal(offline.labelsChecksum, online.labelsChecksum);
    assert.equal(await again.evaluate(() => window.crossOriginIsolated), true);
    assert.deepEqual(pageErrors, []);
  } finally {
    await context.close();
    await stopServer(server);
  }
});

test('a host without COOP/COEP headers: the page reloads once and is then cross-origin isolated, with threads', async () => {
  const { child: server, origin } = await startServer(SITE, ['--plain']);
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  try {
    const headers = await headersOf(`${origin}/app/`);
    assert.equal(headers['cross-origin-opener-policy'], undefined, '--plain must not send COOP');
    assert.equal(headers['cross-origin-embedder-policy'], undefined, '--plain must not send COEP');

    const page = await context.newPage();
    let navigations = 0;
    page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // Each document notes whether it was isolated as it starts: asking the first one afterwards
    // would race the reload the service worker sets off.
    await page.addInitScript(() => {
      const seen = JSON.parse(sessionStorage.getItem('celldrop-test-isolation') || '[]');
      seen.push(window.crossOriginIsolated);
      sessionStorage.setItem('celldrop-test-isolation', JSON.stringify(seen));
    });
    await page.goto(`${origin}/app/`);
    await waitInPage(page, () => window.crossOriginIsolated && window.celldropShell?.ready === true, 'isolation after the reload');
    assert.deepEqual(await page.evaluate(() => JSON.parse(sessionStorage.getItem('celldrop-test-isolation'))), [false, true],
      'the first load cannot be isolated yet; the one reload is');
    assert.equal(navigations, 2, 'exactly one automatic reload');
    const s = await waitForSeg(page, (x) => x.runs >= 1 || x.error, 'a run in the isolated page');
    assert.equal(s.error, null);
    assert.equal(s.threads, 2, 'ONNX Runtime Web should use two threads once the page is isolated');

    // Later visits come through the worker from the start: isolated at once, no more reloads.
    await page.reload();
    await page.waitForFunction(() => window.celldropShell?.ready === true, null, { timeout: READY_TIMEOUT_MS });
    await page.waitForTimeout(1000);
    assert.equal(await page.evaluate(() => window.crossOriginIsolated), true);
    assert.deepEqual(await page.evaluate(() => JSON.parse(sessionStorage.getItem('celldrop-test-isolation'))), [false, true, true]);
    assert.equal(navigations, 3, 'a reload by hand must not set off another automatic one');
    assert.deepEqual(pageErrors, []);
  } finally {
    await context.close();
    await stopServer(server);
  }
});

test('a new build replaces the cached files and the old cache', async () => {
  const site = path.join(tmp, 'redeploy');
  fs.cpSync(SITE, site, { recursive: true });
  const { child: server, origin } = await startServer(site);
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  try {
    const page = await context.newPage();
    await page.goto(`${origin}/app/`);
    const first = await waitInPage(page, controlled, 'the first build cached');
    assert.equal(first, `celldrop-${buildIdOf(site)}`);
    // The first visit settles (its sample segmented) before the deploy, as a person's would.
    await waitForSeg(page, (x) => x.runs >= 1 || x.error, 'the first visit\'s run');

    // The deploy: one file changed, and the build id with it (as assemble-site.sh would write it).
    const css = path.join(site, 'app', 'style.css');
    fs.appendFileSync(css, '\n/* redeployed */\n');
    const buildJs = path.join(site, 'app', 'build.js');
    fs.writeFileSync(buildJs, fs.readFileSync(buildJs, 'utf8').replace(/"id":\s*"[0-9a-f]+"/, '"id": "0123456789abcdef"'));

    // The page looks for a new build when it starts (offline.js); here it is asked once it has settled,
    // because a worker started during a navigation can stay paused for Playwright's debugger. The new
    // worker installs beside the old one, which keeps serving this page.
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration()).update());
    await waitInPage(page, async () => !!(await navigator.serviceWorker.getRegistration()).waiting, 'the new build installed');
    const both = await page.evaluate(async () => (await caches.keys()).sort());
    assert.deepEqual(both, [first, 'celldrop-0123456789abcdef'].sort(), 'the new build fills its own cache');
    // The next start hands over to it and reloads once; the old cache goes.
    let navigations = 0;
    page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });
    await page.reload();
    const now = await waitInPage(page, async () => {
      const keys = await caches.keys();
      return navigator.serviceWorker.controller && keys.length === 1 && window.celldropShell?.ready ? keys[0] : false;
    }, 'the new build in control');
    assert.equal(navigations, 2, 'the start that hands over reloads the page once');
    assert.equal(now, 'celldrop-0123456789abcdef', 'the new build\'s cache replaces the old one');
    const cssNow = await page.evaluate(async () => (await fetch('style.css')).text());
    assert.match(cssNow, /redeployed/, 'the page gets the new build\'s files');
  } finally {
    await context.close();
    await stopServer(server);
  }
});

test('the manifest makes the app installable and registers it for TIFF, PNG and JPEG files', async () => {
  const { child: server, origin } = await startServer(SITE);
  // A profile on disk: Chromium never offers to install from an incognito context (Playwright's default).
  const context = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(tmp, 'profile-')),
    { executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = context.pages()[0] ?? await context.newPage();
    await page.goto(`${origin}/app/`);
    await waitInPage(page, controlled, 'the service worker to control the page');
    const cdp = await context.newCDPSession(page);
    const got = await cdp.send('Page.getAppManifest');
    assert.equal(got.url, `${origin}/app/manifest.webmanifest`);
    assert.deepEqual(got.errors, [], 'the browser\'s complaints about the manifest');
    const manifest = JSON.parse(got.data);
    const accepted = Object.fromEntries(manifest.file_handlers.flatMap((h) => Object.entries(h.accept)));
    assert.deepEqual(accepted, { 'image/tiff': ['.tif', '.tiff'], 'image/png': ['.png'], 'image/jpeg': ['.jpg', '.jpeg'] });
    const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
    assert.deepEqual(installabilityErrors, [], 'Chromium would not offer to install the app');
    // Every icon is there, and a PNG's pixels are the size the manifest says.
    for (const icon of manifest.icons) {
      const r = await page.evaluate(async (src) => {
        const res = await fetch(src);
        const bitmap = res.ok && res.headers.get('content-type') === 'image/png' ? await createImageBitmap(await res.blob()) : null;
        return { status: res.status, type: res.headers.get('content-type'), size: bitmap ? `${bitmap.width}x${bitmap.height}` : null };
      }, new URL(icon.src, got.url).href);
      assert.equal(r.status, 200, icon.src);
      assert.equal(r.type.split(';')[0], icon.type, icon.src);
      if (icon.type === 'image/png') assert.equal(r.size, icon.sizes, icon.src);
    }
  } finally {
    await context.close();
    await stopServer(server);
  }
});

test('files the installed app is launched with (launchQueue) open in the page, the first segmented, the others listed', async () => {
  const { child: server, origin } = await startServer(SITE);
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  try {
    // The operating system's side cannot be driven headless: the consumer launch.js gives Chromium's
    // launch queue is kept, and called the way Chromium calls it, with a real file handle (from the
    // origin's private file system) to a synthetic image.
    await context.addInitScript(() => {
      const keep = (fn) => { window.__launchConsumer = fn; };
      if (typeof LaunchQueue === 'function') {
        const real = LaunchQueue.prototype.setConsumer;
        LaunchQueue.prototype.setConsumer = function setConsumer(fn) { keep(fn); return real.call(this, fn); };
      } else {
        Object.defineProperty(window, 'launchQueue', { value: { setConsumer: keep }, configurable: true });
      }
    });
    const image = synthImage(tmp, 3);
    const page = await context.newPage();
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${origin}/app/`);
    await page.waitForFunction(() => window.celldropShell?.ready === true && typeof window.__launchConsumer === 'function',
      null, { timeout: READY_TIMEOUT_MS });
    await page.evaluate(async (b64) => {
      const dir = await navigator.storage.getDirectory();
      const handles = [];
      for (const name of ['b-launched.png', 'a-launched.png']) {
        const handle = await dir.getFileHandle(name, { create: true });
        const out = await handle.createWritable();
        await out.write(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
        await out.close();
        handles.push(handle);
      }
      await window.__launchConsumer({ files: handles });
    }, fs.readFileSync(image).toString('base64'));
    const s = await waitForResult(page, sha256File(image));
    assert.equal(s.page.image.name, 'a-launched.png');
    assert.deepEqual(s.page.list, { index: 0, count: 2 });
    assert.equal(s.page.openError, null);
    assert.ok(s.segmentation.count > 20, `the launched image's nuclei should be found: ${s.segmentation.count}`);
    assert.deepEqual(pageErrors, []);
  } finally {
    await context.close();
    await stopServer(server);
  }
});
