// Shared pieces of the page's browser tests (headless Chromium through playwright-core): the
// assembled site served by scripts/serve.mjs as the start command serves it, pages that record every
// sign of trouble, the published state (window.celldropShell) and clicks on the Dear ImGui controls
// whose rectangles the page publishes.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, after } from 'node:test';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUILD = path.resolve(process.env.CELLDROP_BUILD || path.join(ROOT, 'build'));
export const SITE = path.join(BUILD, 'site');
export const SHOTS = path.join(BUILD, 'screenshots');
export const CLI = path.join(ROOT, 'cli', 'celldrop.mjs');
export const PYTHON = '/usr/bin/python3';
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--headless=new', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
export const READY_TIMEOUT_MS = 90_000;  // SwiftShader on two shared cores is slow to compile shaders
export const RUN_TIMEOUT_MS = 180_000;   // a 512 x 512 segmentation on one or two shared cores
// Screenshots for the README are refreshed on request only, so a test run leaves the tree clean:
//   CELLDROP_UPDATE_DOCS=1 node --test tests/browser/
export const UPDATE_DOCS = process.env.CELLDROP_UPDATE_DOCS === '1';

export function assertSiteBuilt() {
  assert.ok(fs.existsSync(path.join(SITE, 'app', 'celldrop-app.wasm')),
    `${SITE} holds no assembled site: run bash scripts/build.sh wasm site first`);
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run bash scripts/setup.sh`);
  fs.mkdirSync(SHOTS, { recursive: true });
}

// serve.mjs on a free port over `root` (`extraArgs` e.g. ['--plain']); resolves with { child, origin }.
export function startServer(root = SITE, extraArgs = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'serve.mjs'), '--root', root, '--port', '0', ...extraArgs],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    const timer = setTimeout(() => reject(new Error(`serve.mjs did not start: ${out}${err}`)), 15_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /CellDrop is running at (http:\/\/127\.0\.0\.1:\d+)\/app\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, origin: m[1] });
      }
    });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve.mjs exited with ${code}: ${out}${err}`));
    });
  });
}

// Playwright gives each launch a fresh, temporary profile: no cache, no service worker.
export async function launch(extraArgs = []) {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

// The frame most test files share, registered as their before/after hooks: before the tests, the
// assembled site is checked, a temporary folder made (when `tmp` names it), `prepare(bed)` run (the
// file's fixtures, written under bed.tmp; it may set bed.root to serve a site of its own, and
// bed.launchArgs), then the server started and one Chromium launched; after them, all of it goes,
// with what prepare put in bed.cleanups. Returns the bed, whose fields (origin, browser, tmp) the
// tests read once `before` has run.
export function testBed({ tmp = null, prepare = null } = {}) {
  const bed = { root: SITE, launchArgs: [], cleanups: [] };
  before(async () => {
    assertSiteBuilt();
    if (tmp) bed.tmp = fs.mkdtempSync(path.join(os.tmpdir(), `celldrop-${tmp}-`));
    if (prepare) await prepare(bed);
    ({ child: bed.server, origin: bed.origin } = await startServer(bed.root));
    bed.browser = await launch(bed.launchArgs);
  });
  after(async () => {
    await bed.browser?.close();
    bed.server?.kill();
    for (const cleanup of bed.cleanups) await cleanup();
    if (bed.tmp) fs.rmSync(bed.tmp, { recursive: true, force: true });
  });
  return bed;
}

// A page that records everything that would mean trouble: console errors, uncaught exceptions,
// failed requests and any request that leaves `origin` (the privacy promise), except to the
// origins in `allowed` (an image URL the test itself gives the page).
export async function watchedPage(context, origin, allowed = []) {
  const page = await context.newPage();
  const problems = { consoleErrors: [], pageErrors: [], foreignRequests: [], failedRequests: [] };
  page.on('console', (m) => { if (m.type() === 'error') problems.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => problems.pageErrors.push(e.message));
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.origin !== origin && !allowed.includes(u.origin) && u.protocol !== 'data:' && u.protocol !== 'blob:') {
      problems.foreignRequests.push(r.url());
    }
  });
  page.on('requestfailed', (r) => problems.failedRequests.push(`${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.failedRequests.push(`${r.url()} ${r.status()}`); });
  return { page, problems };
}

export function assertClean(problems, { allowFailed = [] } = {}) {
  assert.deepEqual(problems.consoleErrors.filter((t) => !allowFailed.some((a) => t.includes(a))), [], 'console errors');
  assert.deepEqual(problems.pageErrors, [], 'uncaught exceptions');
  assert.deepEqual(problems.foreignRequests, [], 'requests outside the origin');
  assert.deepEqual(problems.failedRequests.filter((t) => !allowFailed.some((a) => t.includes(a))), [], 'failed requests');
}

export const shell = (page) => page.evaluate(() => window.celldropShell);

// Waits until the page has drawn and published a state that satisfies `predicate`.
export async function waitForShell(page, predicate, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let s;
  while (Date.now() < deadline) {
    s = await shell(page);
    if (s && predicate(s)) return s;
    await page.waitForTimeout(50);
  }
  assert.fail(`timed out waiting for ${what}; last state: ${JSON.stringify(s)?.slice(0, 3000)}`);
}

// Opens the app (with an optional query/fragment) and waits for the first frame.
export async function openApp(context, origin, suffix = '', allowed = []) {
  const w = await watchedPage(context, origin, allowed);
  await w.page.goto(`${origin}/app/${suffix}`);
  await w.page.waitForFunction(() => window.celldropShell?.ready === true && window.celldrop, null, { timeout: READY_TIMEOUT_MS });
  return w;
}

// Waits until the page shows a finished result for the image with `sha256` (any image when null).
export function waitForResult(page, sha256 = null, minRuns = 1) {
  return waitForShell(page, (s) => s.segmentation?.hasResult && !s.segmentation.running && s.segmentation.runs >= minRuns &&
    (!sha256 || s.page?.image.sha256 === sha256), 'a segmentation result', RUN_TIMEOUT_MS);
}

// Page coordinates of a published control rectangle (canvas coordinates) and a click on its middle.
export async function canvasTop(page) {
  return page.evaluate(() => document.getElementById('canvas').getBoundingClientRect().top);
}

export async function clickControl(page, name) {
  const s = await waitForShell(page, (st) => st.page?.ui?.[name], `the control ${name} on screen`);
  const r = s.page.ui[name];
  // A control scrolled out of the panel's view would take the click elsewhere: say so at once.
  assert.ok(r.y0 >= 0 && r.y1 <= s.canvas.cssHeight && r.x1 <= s.canvas.cssWidth,
    `the control ${name} lies outside the canvas (${JSON.stringify(r)}, canvas ${s.canvas.cssWidth} x ${s.canvas.cssHeight}): the panel is too tall for this window`);
  const top = await canvasTop(page);
  await page.mouse.click(Math.round((r.x0 + r.x1) / 2), Math.round((r.y0 + r.y1) / 2 + top), { delay: 60 });
}

// The page's label checksum (src/app/segmentation.h) of a Uint32Array-like label image.
export function labelsChecksum(data) {
  let sum = 0;
  for (let i = 0; i < data.length; i++) {
    if (!data[i]) continue;
    const w = (Math.imul(i, 2654435761) + 1) >>> 0;
    sum = (sum + Math.imul(data[i], w)) >>> 0;
  }
  return sum;
}

// The same checksum of a label image file another program wrote (the CLI's 16-bit PNG), read by
// PIL and computed by numpy.
export function labelsFileChecksum(file) {
  return Number(run(PYTHON, ['-c', `
import sys
import numpy as np
from PIL import Image
a = np.array(Image.open(sys.argv[1])).astype(np.uint64).ravel()
w = (np.arange(a.size, dtype=np.uint64) * 2654435761 + 1) % 2**32
print(int((a * w % 2**32).sum() % 2**32))
`, file]).trim());
}

// Runs a program and returns its stdout; fails the test with its stderr.
export function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, CELLDROP_BUILD: BUILD }, ...options });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

// A synthetic nuclei image made by the CLI (the core through Node), as a 16-bit PNG file path.
export function synthImage(dir, seed, extra = []) {
  run(process.execPath, [CLI, 'synth', '--seed', String(seed), '--out', dir, ...extra]);
  const file = path.join(dir, `synth-${seed}.png`);
  assert.ok(fs.existsSync(file), `the CLI did not write ${file}`);
  return file;
}

// Gives `file` (or an array of files, dropped together under their own names) to the page the way a
// person drags it from a file manager: a DataTransfer holding a File each, through dragenter,
// dragover and drop on the canvas. Returns whether the drop hint showed.
export async function dropFile(page, file, name = Array.isArray(file) ? '' : path.basename(file), type = 'image/png') {
  const files = (Array.isArray(file) ? file : [file]).map((f) => ({
    b64: fs.readFileSync(f).toString('base64'), name: Array.isArray(file) ? path.basename(f) : name }));
  return page.evaluate(async ({ files, type }) => {
    const dt = new DataTransfer();
    for (const { b64, name } of files) dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type }));
    const target = document.getElementById('canvas');
    target.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true, cancelable: true }));
    target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    const hint = getComputedStyle(document.getElementById('drop-hint')).display !== 'none';
    target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    const hidden = getComputedStyle(document.getElementById('drop-hint')).display === 'none';
    return { hintShown: hint, hintHiddenAfter: hidden };
  }, { files, type });
}

export function sha256File(file) {
  return run(PYTHON, ['-c', 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())', file]).trim();
}

export function saveDocShot(from, name) {
  if (!UPDATE_DOCS) return;
  fs.mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
  fs.copyFileSync(from, path.join(ROOT, 'docs', name));
}
