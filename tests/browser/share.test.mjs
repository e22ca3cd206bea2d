// Reproducible share links, in headless Chromium: the Share button writes the state into the URL
// fragment; opening that link in a fresh page restores every parameter and, on the same image and
// backend, reproduces the labels exactly; a different image gets a badge saying so; a link with
// the image's URL fetches it. Broken links say what is wrong and leave the page usable.
//
// Needs the site assembled first: bash scripts/build.sh wasm site
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  SITE, openApp, assertClean, waitForShell, waitForResult, clickControl, dropFile, synthImage, sha256File, testBed,
} from './harness.mjs';

let other, otherSha;

const PARAMS = { diameter: 24, prob_thresh: 0.55, nms_thresh: 0.35, percentile_low: 0.5, percentile_high: 99.5, tile: 256 };

// The site served with one more image on it, for links that name an image URL.
const bed = testBed({
  tmp: 'share',
  prepare: (bed) => {
    other = synthImage(bed.tmp, 7, ['--width', '320', '--height', '320']);
    otherSha = sha256File(other);
    bed.root = path.join(bed.tmp, 'site');
    fs.cpSync(SITE, bed.root, { recursive: true });
    fs.mkdirSync(path.join(bed.root, 'images'));
    fs.copyFileSync(other, path.join(bed.root, 'images', 'seven.png'));
  },
});

const runParams = (s) => JSON.parse(s.page.params);

test('Share writes a link that restores every parameter and reproduces identical labels; another image gets a badge', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const first = await openApp(context, bed.origin);
  await waitForResult(first.page);
  const model = (await waitForResult(first.page)).segmentation.model;
  await first.page.evaluate((p) => window.celldrop.run(p), PARAMS);
  const made = await waitForResult(first.page, null, 2);
  for (const [k, v] of Object.entries(PARAMS)) assert.equal(runParams(made)[k], v, `parameter ${k}`);

  await clickControl(first.page, 'share');
  const shared = await waitForShell(first.page, (s) => s.page.shareFragment, 'the Share button');
  const link = first.page.url();
  assert.equal(new URL(link).hash, `#${shared.page.shareFragment}`, 'Share puts the link in the address bar');
  assert.equal(await first.page.evaluate(() => window.celldrop.shareLink()), link, 'shareLink() is the same link');
  const fields = new URLSearchParams(new URL(link).hash.slice(1));
  assert.equal(fields.get('celldrop'), '1');
  assert.equal(fields.get('model'), model);
  assert.match(fields.get('model_sha256'), /^[0-9a-f]{64}$/);
  assert.equal(fields.get('image_sha256'), made.page.image.sha256);
  assert.equal(fields.get('backend'), made.segmentation.backend);
  assert.equal(fields.get('app'), '0.1.0');
  for (const [k, v] of Object.entries(PARAMS)) assert.equal(Number(fields.get(`p.${k}`)), v, `p.${k} in the link`);
  assertClean(first.problems);

  // A fresh page opened on the link: the sample (the same image) is segmented with the link's
  // parameters, and the labels are identical.
  const second = await openApp(context, bed.origin, new URL(link).hash);
  const again = await waitForResult(second.page);
  assert.deepEqual(runParams(again), runParams(made));
  assert.equal(again.page.backendChoice, made.segmentation.backend, 'the link asks for the backend its result came from');
  assert.equal(again.page.link.sameImage, true);
  assert.equal(again.page.link.note, '');
  assert.ok(again.page.ui.badge, 'the "same image" badge is on screen');
  assert.equal(again.segmentation.count, made.segmentation.count);
  assert.equal(again.segmentation.labelsChecksum, made.segmentation.labelsChecksum, 'identical labels');

  // Another image dropped on the linked page: the badge says it is not the link's.
  await dropFile(second.page, other, 'seven.png');
  const differs = await waitForShell(second.page, (s) => s.page.image.sha256 === otherSha, 'the dropped image');
  assert.equal(differs.page.link.sameImage, false);
  assertClean(second.problems);
  await context.close();
});

test('a link made on an image from ?image= fetches that image and reproduces its labels', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1100, height: 760 } });
  const first = await openApp(context, bed.origin, '?image=../images/seven.png');
  await waitForResult(first.page, otherSha);
  await first.page.evaluate(() => window.celldrop.run({ prob_thresh: 0.5 }));
  const made = await waitForResult(first.page, otherSha, 2);
  const link = await first.page.evaluate(() => window.celldrop.shareLink());
  assert.equal(new URL(link).search, '', 'the link carries everything in its fragment');
  assert.equal(new URLSearchParams(new URL(link).hash.slice(1)).get('image'), `${bed.origin}/images/seven.png`);

  const second = await openApp(context, bed.origin, new URL(link).hash);
  const again = await waitForResult(second.page, otherSha);
  assert.equal(again.page.link.sameImage, true);
  assert.deepEqual(runParams(again), runParams(made));
  assert.equal(again.segmentation.labelsChecksum, made.segmentation.labelsChecksum, 'identical labels');
  assertClean(first.problems);
  assertClean(second.problems);
  await context.close();
});

test('a link from a newer format or naming an absent model says so, and the page still works', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1100, height: 760 } });
  let { page, problems } = await openApp(context, bed.origin, '#celldrop=9&model=x');
  let s = await waitForShell(page, (st) => st.page.link.note, 'the link note');
  assert.match(s.page.link.note, /newer CellDrop/);
  await waitForResult(page);
  assertClean(problems);
  await page.close();

  ({ page, problems } = await openApp(context, bed.origin, '#celldrop=1&model=no-such-model&p.prob_thresh=0.9'));
  s = await waitForResult(page);
  assert.match(s.page.link.note, /no-such-model is not on this site/);
  assert.notEqual(runParams(s).prob_thresh, 0.9, 'parameters of a model that is absent are not applied');
  assertClean(problems);
  await context.close();
});
