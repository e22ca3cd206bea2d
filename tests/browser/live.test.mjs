// Live re-runs in headless Chromium: moving a post-processing threshold (or min_area) re-post-processes the last
// result's network outputs in the worker (cd_result_repostprocess) without running the network, and
// gives the labels a full run with that threshold gives. Any other change waits for Run.
//
// Needs the site assembled first: bash scripts/build.sh wasm site
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  SHOTS, assertClean, shell, waitForShell, openApp, waitForResult, canvasTop, clickControl, labelsChecksum,
  RUN_TIMEOUT_MS, testBed,
} from './harness.mjs';

const bed = testBed();

const labelsOf = (page) => page.evaluate(() => {
  const r = window.celldrop.result();
  return { data: Array.from(r.labels.data), objects: r.objects.length, record: r.record };
});

// Clicks a slider near `fraction` of its range. The published rectangle holds the slider's frame and
// its label to the right; the frame is about two thirds of it.
async function dragSlider(page, name, fraction) {
  const s = await waitForShell(page, (st) => st.page?.ui?.[name], `the slider ${name}`);
  const r = s.page.ui[name];
  const top = await canvasTop(page);
  await page.mouse.click(Math.round(r.x0 + fraction * 0.65 * (r.x1 - r.x0)), Math.round((r.y0 + r.y1) / 2 + top), { delay: 60 });
}

test('moving prob_thresh re-post-processes without inference and gives the full run\'s labels; timings by stage', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 860 } });
  const { page, problems } = await openApp(context, bed.origin);
  let s = await waitForResult(page);
  let runs0 = s.segmentation.runs;
  // A full run's timings by stage: the image decoded, the network run, its outputs post-processed.
  const t = s.segmentation.timings;
  assert.equal(s.segmentation.reused, false);
  assert.ok(t.decode > 0 && t.inference > 0 && t.postprocess > 0, JSON.stringify(t));
  assert.ok(t.decode + t.inference + t.postprocess <= t.total + 1e-6, JSON.stringify(t));
  const cardProb = JSON.parse(s.page.params).prob_thresh;
  // A given diameter: with an automatic one, a threshold that changes the objects' median size may
  // change the estimate, hence the scale, and then only the network can give a full run's labels
  // (the worker then runs it; cd_result_repostprocess says so).
  await page.evaluate(() => window.celldrop.run({ diameter: 21 }));
  s = await waitForResult(page, null, runs0 + 1);
  const given = await labelsOf(page);

  runs0 = s.segmentation.runs;
  // The slider, moved well above the card's threshold: fewer, smaller objects, and no network.
  await dragSlider(page, 'threshold.prob_thresh', 0.8);
  s = await waitForShell(page, (st) => st.segmentation.runs > runs0 && !st.segmentation.running, 'the live re-run', RUN_TIMEOUT_MS);
  const moved = JSON.parse(s.page.params).prob_thresh;
  assert.ok(moved > cardProb + 0.1, `prob_thresh moved from ${cardProb} to ${moved}`);
  assert.equal(s.segmentation.reused, true, 'the worker must reuse the network outputs');
  assert.equal(s.segmentation.timings.inference, 0, 'no inference in a live re-run');
  assert.equal(s.segmentation.timings.decode, 0, 'no decoding in a live re-run');
  assert.ok(s.segmentation.timings.postprocess > 0);
  await page.screenshot({ path: path.join(SHOTS, 'live-rerun.png') });
  const live = await labelsOf(page);
  assert.equal(live.record.parameters.prob_thresh, moved, 'the run record names the threshold used');
  assert.equal(live.record.timings_s.inference, 0, 'the run record says no inference happened');
  assert.notEqual(labelsChecksum(live.data), labelsChecksum(given.data), 'the threshold changed the labels');
  assert.ok(live.objects < given.objects, `a higher threshold keeps fewer objects: ${live.objects} vs ${given.objects}`);

  // The same threshold through a full run: the same labels, pixel for pixel, this time with inference.
  await page.evaluate((p) => window.celldrop.run({ prob_thresh: p }), moved);
  s = await waitForResult(page, null, runs0 + 2);
  assert.equal(s.segmentation.reused, false);
  assert.ok(s.segmentation.timings.inference > 0);
  const full = await labelsOf(page);
  assert.equal(full.objects, live.objects);
  assert.equal(labelsChecksum(full.data), labelsChecksum(live.data), 'live and full runs give identical labels');
  assert.deepEqual(full.data, live.data);

  // min_area is live too, and removes exactly the objects under it: the others stay, renumbered.
  runs0 = s.segmentation.runs;
  await dragSlider(page, 'threshold.min_area', 0.95);
  s = await waitForShell(page, (st) => st.segmentation.runs > runs0 && !st.segmentation.running, 'the live re-run of min_area', RUN_TIMEOUT_MS);
  const minArea = JSON.parse(s.page.params).min_area;
  assert.equal(s.segmentation.reused, true, 'min_area reuses the network outputs');
  const sieved = await labelsOf(page);
  assert.equal(sieved.record.parameters.min_area_used, minArea);
  const areas = new Map();
  for (const v of full.data) if (v) areas.set(v, (areas.get(v) ?? 0) + 1);
  const kept = [...areas.values()].filter((a) => a >= minArea);
  assert.ok(kept.length < areas.size, `min_area ${minArea} removes some of ${areas.size} objects`);
  assert.equal(sieved.objects, kept.length);
  assert.equal(sieved.data.filter((v) => v).length, kept.reduce((a, b) => a + b, 0));

  // Anything else changed first (here: the diameter, automatic again): moving a threshold then
  // waits for Run.
  const box = (await shell(page)).segmentation.ui.autoDiameter;
  const top = await canvasTop(page);
  await page.mouse.click(Math.round((box.x0 + box.x1) / 2), Math.round((box.y0 + box.y1) / 2 + top), { delay: 60 });
  await waitForShell(page, (st) => JSON.parse(st.page.params).diameter === 0, 'an automatic diameter');
  const runs1 = (await shell(page)).segmentation.runs;
  await dragSlider(page, 'threshold.prob_thresh', 0.3);
  await waitForShell(page, (st) => JSON.parse(st.page.params).prob_thresh < moved, 'the threshold moved');
  await page.waitForTimeout(1500);
  s = await shell(page);
  assert.equal(s.segmentation.runs, runs1, 'no run starts by itself when more than thresholds changed');
  assert.equal(s.segmentation.running, false);
  assertClean(problems);
  await context.close();
});

// "Leave out objects on the border" is post-processing too: ticking it re-applies the last result's
// network outputs, and the labels are those before it less every object on the image's edge,
// renumbered in order. The share link and the record carry it; unticking brings every object back.
test('leaving out objects on the border is a live re-run that removes exactly those; links and records carry it', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 860 } });
  const { page, problems } = await openApp(context, bed.origin);
  let s = await waitForResult(page);
  await page.evaluate(() => window.celldrop.run({ diameter: 21 }));  // a given diameter: see the test above
  s = await waitForResult(page, null, s.segmentation.runs + 1);
  const all = await labelsOf(page);
  assert.equal(JSON.parse(s.page.params).exclude_border, false);
  assert.equal(all.record.parameters.exclude_border, false);

  let runs0 = s.segmentation.runs;
  await clickControl(page, 'exclude_border');
  s = await waitForShell(page, (st) => st.segmentation.runs > runs0 && !st.segmentation.running, 'the live re-run', RUN_TIMEOUT_MS);
  assert.equal(JSON.parse(s.page.params).exclude_border, true);
  assert.equal(s.segmentation.reused, true, 'the worker must reuse the network outputs');
  assert.equal(s.segmentation.timings.inference, 0);
  const inner = await labelsOf(page);
  assert.equal(inner.record.parameters.exclude_border, true);

  const { width, height } = await page.evaluate(() => window.celldrop.result().labels);
  const cut = new Set();
  for (let x = 0; x < width; x++) cut.add(all.data[x]).add(all.data[(height - 1) * width + x]);
  for (let y = 0; y < height; y++) cut.add(all.data[y * width]).add(all.data[y * width + width - 1]);
  cut.delete(0);
  const renumber = new Map();
  for (const v of [...new Set(all.data)].filter((v) => v && !cut.has(v)).sort((a, b) => a - b)) renumber.set(v, renumber.size + 1);
  assert.ok(cut.size > 0 && renumber.size > 0, `${cut.size} objects on the border, ${renumber.size} inside`);
  assert.equal(inner.objects, renumber.size);
  assert.equal((await shell(page)).page.borderObjects, cut.size, 'the panel says how many it left out');
  assert.deepEqual(inner.data, all.data.map((v) => renumber.get(v) ?? 0));
  assert.match(await page.evaluate(() => window.celldrop.shareLink()), /[#&]p\.exclude_border=true(&|$)/);
  await page.screenshot({ path: path.join(SHOTS, 'exclude-border.png') });

  runs0 = s.segmentation.runs;
  await clickControl(page, 'exclude_border');
  s = await waitForShell(page, (st) => st.segmentation.runs > runs0 && !st.segmentation.running, 'the live re-run back', RUN_TIMEOUT_MS);
  assert.equal(s.segmentation.reused, true);
  assert.deepEqual((await labelsOf(page)).data, all.data, 'unticked: every object is back');
  assertClean(problems);
  await context.close();
});
