// "Load your own model" in headless Chromium: a model made at test time (tests/fixtures/
// hand_made_star.py: an ONNX file and its card) chosen through the panel's button, checked in the
// worker (the card by the core, the file's sha256 against it) and used; a wrong card dropped on the
// page gives a clear message and leaves the app as it was. Nothing of the model leaves the tab.
//
// Needs the site assembled first: bash scripts/build.sh wasm site
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  ROOT, PYTHON, SHOTS, assertClean, shell, waitForShell, openApp, waitForResult, clickControl, run, sha256File,
  RUN_TIMEOUT_MS, testBed,
} from './harness.mjs';

const NAME = 'my-blur-star';
const bed = testBed({
  tmp: 'own-model',
  prepare: ({ tmp }) => {
    run(PYTHON, [path.join(ROOT, 'tests', 'fixtures', 'hand_made_star.py'), tmp, NAME]);
    // A wrong card: the same model but another file's sha256.
    const card = JSON.parse(fs.readFileSync(path.join(tmp, `${NAME}.json`), 'utf8'));
    card.onnx.sha256 = card.onnx.sha256.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    fs.mkdirSync(path.join(tmp, 'wrong'));
    fs.writeFileSync(path.join(tmp, 'wrong', `${NAME}.json`), JSON.stringify(card));
  },
});

// Drops files on the canvas together, as a file manager would.
function dropFiles(page, files) {
  const payload = files.map((f) => ({ name: path.basename(f), b64: fs.readFileSync(f).toString('base64') }));
  return page.evaluate((list) => {
    const dt = new DataTransfer();
    for (const { name, b64 } of list) dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name));
    const target = document.getElementById('canvas');
    for (const type of ['dragenter', 'dragover', 'drop']) target.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, payload);
}

test('a wrong card is refused with a clear message; the right pair is checked, listed, selected and segments', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 860 } });
  const { page, problems } = await openApp(context, bed.origin);
  let s = await waitForResult(page);
  const shipped = s.segmentation.models;
  const runs0 = s.segmentation.runs;
  const requests = [];
  page.on('request', (r) => requests.push({ method: r.method(), url: r.url(), body: r.postData() }));

  // The wrong card, dropped with the right file: the core's sha256 check says what is wrong.
  await dropFiles(page, [path.join(bed.tmp, `${NAME}.onnx`), path.join(bed.tmp, 'wrong', `${NAME}.json`)]);
  s = await waitForShell(page, (st) => st.page.modelError, 'the wrong card refused', RUN_TIMEOUT_MS);
  assert.match(s.page.modelError, /^Load your own model: .*sha-?256/i, s.page.modelError);
  assert.match(s.page.modelError, /still here/);
  assert.deepEqual(s.segmentation.models, shipped, 'the list is as it was');
  await page.screenshot({ path: path.join(SHOTS, 'own-model-wrong-card.png') });

  // One file alone is not a model.
  await dropFiles(page, [path.join(bed.tmp, `${NAME}.onnx`)]);
  s = await waitForShell(page, (st) => /two files together/.test(st.page.modelError ?? ''), 'one file refused');

  // The right pair through the panel's button and the browser's file chooser.
  const chooser = page.waitForEvent('filechooser');
  await clickControl(page, 'model.load');
  await (await chooser).setFiles([path.join(bed.tmp, `${NAME}.onnx`), path.join(bed.tmp, `${NAME}.json`)]);
  s = await waitForShell(page, (st) => st.segmentation.models.includes(NAME) && st.segmentation.model === NAME,
    'the model listed and selected', RUN_TIMEOUT_MS);
  assert.equal(s.page.modelError, null);
  s = await waitForResult(page, null, runs0 + 1);
  assert.equal(s.segmentation.model, NAME);
  assert.equal(s.segmentation.error, null);
  const record = await page.evaluate(() => window.celldrop.result().record);
  assert.equal(record.model.name, NAME);
  assert.equal(record.model.sha256, sha256File(path.join(bed.tmp, `${NAME}.onnx`)), 'the run used the file chosen');
  assert.ok(s.segmentation.count > 5, `objects found with the hand-made model: ${s.segmentation.count}`);
  await page.screenshot({ path: path.join(SHOTS, 'own-model.png') });

  // It stays for the session: a shipped model runs, and the user's is still offered and runs again.
  await page.evaluate(() => window.celldrop.run({ model: 'nuclei-star' }));
  s = await shell(page);
  assert.equal(s.segmentation.model, 'nuclei-star');
  assert.ok(s.segmentation.models.includes(NAME));
  const again = await page.evaluate((name) => window.celldrop.run({ model: name }).then((r) => r.record.model.name), NAME);
  assert.equal(again, NAME);

  // Never uploaded: every request since the page started was a GET of the site's own files, none
  // carried a body, and none named the model.
  assert.deepEqual(requests.filter((r) => r.method !== 'GET' || r.body || r.url.includes(NAME)), []);
  assertClean(problems);
  await context.close();
});
