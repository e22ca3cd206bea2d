// window.celldrop, the page API (docs/page-api.md), in headless Chromium: open() with a Blob, bytes
// and a URL, run(params) resolving with the masks, result(), shareLink(), backend(), and the
// sentences it rejects with.
//
// Needs the site assembled first: bash scripts/build.sh wasm site
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  ROOT, CLI, PYTHON, openApp, assertClean, synthImage, sha256File, labelsChecksum, labelsFileChecksum, run, testBed,
  clickControl, waitForShell,
} from './harness.mjs';

let image, ihc, labSlide, oneStain;
// Another lab's stains: a purple hematoxylin and a dark, neutral DAB (see tests/cli/segment.test.mjs).
const LAB_COLOURS = '0.5626,0.7201,0.4062/0.40,0.60,0.69';
const bed = testBed({
  tmp: 'api',
  prepare: ({ tmp }) => {
    image = synthImage(tmp, 11, ['--width', '256', '--height', '192']);
    // The same nuclei as an immunohistochemistry slide, brown DAB blobs between them.
    ihc = path.join(tmp, 'ihc.png');
    run(PYTHON, [path.join(ROOT, 'scripts', 'ihc_slide.py'), image, path.join(tmp, 'synth-11-labels.png'), ihc, '11']);
    labSlide = path.join(tmp, 'lab.png');
    run(PYTHON, [path.join(ROOT, 'scripts', 'ihc_slide.py'), image, path.join(tmp, 'synth-11-labels.png'), labSlide, '11', LAB_COLOURS]);
    // The nuclei in hematoxylin alone: no second stain whose colour could be estimated.
    oneStain = path.join(tmp, 'one-stain.png');
    run(PYTHON, [path.join(ROOT, 'scripts', 'ihc_slide.py'), image, path.join(tmp, 'synth-11-labels.png'), oneStain, '11',
      '--hematoxylin-only']);
  },
});

test('open, run, result, shareLink and backend', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1100, height: 760 } });
  const { page, problems } = await openApp(context, bed.origin);
  const out = await page.evaluate(async (b64) => {
    const cd = window.celldrop;
    await cd.ready();
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const opened = await cd.open(new Blob([bytes], { type: 'image/png' }));
    const first = await cd.run({ diameter: 22, prob_thresh: 0.5, backend: 'wasm' });
    const again = await cd.run({ diameter: 22, prob_thresh: 0.5 });
    const stricter = await cd.run({ prob_thresh: 0.9 });
    const fromBytes = await cd.open(bytes, 'again.png');
    return {
      opened, fromBytes,
      first: { width: first.labels.width, height: first.labels.height, ids: Array.from(first.labels.data),
               objects: first.objects, record: first.record },
      again: Array.from(again.labels.data),
      stricterObjects: stricter.objects.length,
      backend: cd.backend(),
      link: cd.shareLink(),
      frozen: Object.isFrozen(cd),
    };
  }, fs.readFileSync(image).toString('base64'));
  const sha = sha256File(image);
  assert.deepEqual(out.opened, { name: 'pasted-image.png', width: 256, height: 192, channels: 1, type: 'uint16', sha256: sha, page: 0, pages: 1 });
  assert.equal(out.fromBytes.name, 'again.png');
  assert.equal(out.first.width, 256);
  assert.equal(out.first.height, 192);
  const n = out.first.objects.length;
  assert.ok(n > 5, `objects: ${n}`);
  assert.equal(Math.max(...out.first.ids), n, 'ids 1..N');
  assert.deepEqual(out.first.objects.map((o) => o.label), Array.from({ length: n }, (_, i) => i + 1));
  assert.ok(out.first.objects.every((o) => o.area_px > 0 && o.centroid_x >= 0 && o.centroid_x < 256));
  assert.equal(out.first.record.image.sha256, sha);
  assert.equal(out.first.record.parameters.diameter_requested, 22);
  assert.equal(out.first.record.parameters.prob_thresh, 0.5);
  assert.equal(labelsChecksum(out.again), labelsChecksum(out.first.ids), 'the same run twice gives the same labels');
  assert.ok(out.stricterObjects < n, `a stricter threshold finds fewer objects: ${out.stricterObjects} vs ${n}`);
  assert.equal(out.backend, 'wasm', 'this Chromium has no WebGPU adapter');
  assert.ok(out.link.startsWith(`${bed.origin}/app/#celldrop=1&`), out.link);
  assert.equal(out.frozen, true);
  assertClean(problems);
  await context.close();
});

test('an image opened while another is being segmented replaces it: the old run is dropped, the new one segmented', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1100, height: 760 } });
  const { page, problems } = await openApp(context, bed.origin);
  const b64 = fs.readFileSync(image).toString('base64');
  const out = await page.evaluate(async (b64) => {
    const cd = window.celldrop;
    await cd.ready();
    // The sample's own run is under way at start; wait until it is, then open another image.
    const t0 = performance.now();
    while (!window.celldropShell.segmentation.running && performance.now() - t0 < 30000) await new Promise((r) => setTimeout(r, 20));
    const wasRunning = window.celldropShell.segmentation.running;
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    await cd.open(bytes, 'second.png');
    // The page segments the new image by itself; wait for that result.
    const t1 = performance.now();
    while (!(window.celldropShell.segmentation.hasResult && !window.celldropShell.segmentation.running) && performance.now() - t1 < 120000) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const r = cd.result();
    return { wasRunning, width: r.labels.width, height: r.labels.height, name: r.record.image.name, runs: window.celldropShell.segmentation.runs };
  }, b64);
  assert.equal(out.wasRunning, true, 'the sample was being segmented when the second image came');
  assert.deepEqual([out.width, out.height, out.name], [256, 192, 'second.png']);
  assert.equal(out.runs, 1, 'the sample\'s run was dropped, not finished');
  assertClean(problems);
  await context.close();
});

test('the API rejects what it cannot do with a sentence, and the page stays usable', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1100, height: 760 } });
  const { page, problems } = await openApp(context, bed.origin);
  const errors = await page.evaluate(async () => {
    const cd = window.celldrop;
    await cd.ready();
    const message = async (f) => {
      try {
        await f();
        return null;
      } catch (e) {
        return e.message;
      }
    };
    return {
      unknownKey: await message(() => cd.run({ prob_treshold: 0.5 })),
      outOfRange: await message(() => cd.run({ prob_thresh: 1.5 })),
      noModel: await message(() => cd.run({ model: 'no-such-model' })),
      badTile: await message(() => cd.run({ tile: 100.5 })),
      badBackend: await message(() => cd.run({ backend: 'cuda' })),
      notAnImage: await message(() => cd.open(42)),
      http404: await message(() => cd.open('../no/such/image.png')),
      export: await message(() => cd.export('pdf')),
      afterwards: (await cd.run({})).objects.length,
    };
  });
  assert.match(errors.unknownKey, /unknown parameter "prob_treshold".*known: .*prob_thresh/);
  assert.match(errors.outOfRange, /prob_thresh must be a number from 0 to 1/);
  assert.match(errors.noModel, /there is no model "no-such-model" on this site \(it has: /);
  assert.match(errors.badTile, /tile must be a whole number/);
  assert.match(errors.badBackend, /backend must be "auto", "webgpu" or "wasm"/);
  assert.match(errors.notAnImage, /takes a File, a Blob/);
  assert.match(errors.http404, /HTTP 404/);
  assert.match(errors.export, /unknown export "pdf"/);
  assert.ok(errors.afterwards > 20);
  assertClean(problems, { allowFailed: ['no/such/image.png', '404 (Not Found)'] });
  await context.close();
});

test('stain: an IHC slide\'s hematoxylin is read as the CLI reads it, its DAB-positive nuclei counted; a link carries both', async () => {
  // Tall enough for the panel's Count positive below the Segment section.
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 1100 } });
  const { page, problems } = await openApp(context, bed.origin);
  const b64 = fs.readFileSync(ihc).toString('base64');
  const out = await page.evaluate(async (b64) => {
    const cd = window.celldrop;
    await cd.ready();
    await cd.open(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)), 'ihc.png');
    const r = await cd.run({ model: 'nuclei-star', stain: 'hematoxylin', backend: 'wasm' });
    let refused = null;
    try {
      await cd.run({ stain: 'eosin' });
    } catch (e) {
      refused = String(e.message ?? e);
    }
    return { ids: Array.from(r.labels.data), objects: r.objects.length, parameters: r.record.parameters, refused };
  }, b64);
  assert.equal(out.parameters.stain, 'hematoxylin');
  assert.match(out.refused, /stain must be "hematoxylin" or "dab"/);
  const cli = path.join(bed.tmp, 'ihc-cli');
  const line = JSON.parse(run(process.execPath, [CLI, 'segment', ihc, '--out', cli, '--model', 'nuclei-star', '--stain', 'hematoxylin',
    '--positive', 'dab', '--backend', 'wasm', '--threads', '1']).trim());
  assert.ok(out.objects > 20, `objects: ${out.objects}`);
  assert.equal(labelsChecksum(out.ids), labelsFileChecksum(path.join(cli, 'ihc.png')), 'the page\'s labels are the CLI\'s');

  // "Count positive" on a slide read through a stain counts by DAB: the CLI's --positive dab count.
  await clickControl(page, 'positive.count');
  const s = await waitForShell(page, (st) => st.page.positive.count !== null, 'the DAB count');
  assert.equal(s.page.positive.stain, 'dab');
  assert.equal(s.page.positive.count, line.positive);
  await waitForShell(page, (st) => st.page.table.meanStain === 'dab', 'the table\'s mean column showing the DAB density');
  assert.ok(Math.abs(s.page.positive.threshold - line.positive_threshold) < 1e-12, `${s.page.positive.threshold} vs ${line.positive_threshold}`);
  const counted = await page.evaluate(async () => {
    const cd = window.celldrop;
    const r = cd.result();
    const high = await cd.setPositive('dab', 5);  // an optical density above any nucleus's mean
    await cd.setPositive('dab');
    return {
      record: r.record.positive, positives: r.objects.filter((o) => o.positive === 1).length,
      densities: r.objects.every((o) => Number.isFinite(o.dab_od_mean) && Number.isFinite(o.hematoxylin_od_mean)),
      high: high.record.positive, link: cd.shareLink(),
    };
  });
  assert.deepEqual(counted.record, { stain: 'dab', threshold: line.positive_threshold, threshold_from: 'otsu', objects: line.positive });
  assert.equal(counted.positives, line.positive);
  assert.ok(counted.densities, 'each object has its mean stain densities');
  assert.equal(counted.high.objects, 0);
  assert.equal(counted.high.threshold_from, 'user');
  assert.match(counted.link, /[#&]p\.stain=hematoxylin(&|$)/, counted.link);
  assert.match(counted.link, /[#&]positive=dab(&|$)/, counted.link);
  // Read through its channels again, the slide has no stain densities: the count says why it stops.
  await page.evaluate(() => window.celldrop.run({ stain: null }));
  const unstained = await waitForShell(page, (st) => st.page.positive.note !== '', 'the note on a result without stains');
  assert.match(unstained.page.positive.note, /no DAB densities: segment the slide read through its hematoxylin/);
  assert.equal(unstained.page.positive.count, null);

  // The link restores the stain and the count: the same slide opened there is read through its
  // hematoxylin again, and its DAB-positive nuclei are counted.
  const second = await openApp(context, bed.origin, new URL(counted.link).hash);
  const again = await second.page.evaluate(async (b64) => {
    const cd = window.celldrop;
    await cd.ready();
    await cd.open(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)), 'ihc.png');
    const r = await cd.run();
    return { ids: Array.from(r.labels.data), stain: r.record.parameters.stain, positive: r.record.positive };
  }, b64);
  assert.equal(again.stain, 'hematoxylin');
  assert.equal(labelsChecksum(again.ids), labelsChecksum(out.ids));
  assert.deepEqual(again.positive, counted.record);
  assertClean(problems);
  assertClean(second.problems);
  await context.close();
});

// The panel's "Estimate the stains' colours" on a slide of other stains: the page unmixes with the
// colours the CLI's --estimate-stains finds, gives the CLI's labels, shows the colours it used (its
// state and the record) and a link carries the choice.
test('estimate_stains: a slide of other stains is unmixed with its own colours, as the CLI does', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const { page, problems } = await openApp(context, bed.origin);
  const b64 = fs.readFileSync(labSlide).toString('base64');
  const standard = await page.evaluate(async (b64) => {
    const cd = window.celldrop;
    await cd.ready();
    await cd.open(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)), 'lab.png');
    const r = await cd.run({ model: 'nuclei-star', stain: 'hematoxylin', backend: 'wasm' });
    return { objects: r.objects.length, vectors: r.record.parameters.stain_vector_dab };
  }, b64);
  assert.equal(standard.vectors, '0.268 0.570 0.776');
  let s = await waitForShell(page, (st) => st.page.stainVectors !== null, 'the standard colours shown');
  assert.equal(s.page.stainVectors.estimated, false);
  await clickControl(page, 'estimate_stains');
  s = await waitForShell(page, (st) => JSON.parse(st.page.params).estimate_stains === true, 'the box ticked');
  const own = await page.evaluate(async () => {
    const r = await window.celldrop.run();
    return { ids: Array.from(r.labels.data), objects: r.objects.length, parameters: r.record.parameters, link: window.celldrop.shareLink() };
  });
  s = await waitForShell(page, (st) => st.page.stainVectors?.estimated === true, 'the slide\'s colours shown');
  const cli = path.join(bed.tmp, 'lab-cli');
  const line = JSON.parse(run(process.execPath, [CLI, 'segment', labSlide, '--out', cli, '--model', 'nuclei-star', '--stain', 'hematoxylin',
    '--estimate-stains', '--backend', 'wasm', '--threads', '1']).trim());
  assert.equal(labelsChecksum(own.ids), labelsFileChecksum(path.join(cli, 'lab.png')), 'the page\'s labels are the CLI\'s');
  assert.ok(own.objects < standard.objects, `brown blobs no longer nuclei: ${own.objects} objects, ${standard.objects} with the standard colours`);
  for (const stain of ['hematoxylin', 'dab']) {
    assert.deepEqual(s.page.stainVectors[stain].map((x) => Number(x.toFixed(3))), line.stain_vectors[stain], stain);
    assert.equal(own.parameters[`stain_vector_${stain}`], line.stain_vectors[stain].map((x) => x.toFixed(3)).join(' '));
  }
  assert.equal(own.parameters.estimate_stains, true);
  assert.match(own.link, /[#&]p\.estimate_stains=true(&|$)/, own.link);

  // The link asks for the slide's own colours again.
  const second = await openApp(context, bed.origin, new URL(own.link).hash);
  const again = await second.page.evaluate(async (b64) => {
    const cd = window.celldrop;
    await cd.ready();
    await cd.open(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)), 'lab.png');
    return Array.from((await cd.run()).labels.data);
  }, b64);
  assert.equal(labelsChecksum(again), labelsChecksum(own.ids));

  // A slide of one stain: the run rejects with the reason, and the result on show stays.
  const one = await page.evaluate(async (b64) => {
    const cd = window.celldrop;
    await cd.open(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)), 'one-stain.png');
    const before = (await cd.run({ estimate_stains: false })).objects.length;
    let refused = null;
    try {
      await cd.run({ estimate_stains: true });
    } catch (e) {
      refused = String(e.message ?? e);
    }
    return { before, refused, after: cd.result()?.objects.length };
  }, fs.readFileSync(oneStain).toString('base64'));
  assert.match(one.refused, /all of one colour.*use the standard colours/);
  assert.ok(one.before > 20);
  assert.equal(one.after, one.before, 'the result on show is kept');
  assertClean(problems);
  assertClean(second.problems);
  await context.close();
});
