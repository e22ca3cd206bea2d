// Editing a result by hand, in headless Chromium: a false detection clicked in the image goes with
// Delete, a missed nucleus is drawn around in draw mode (D), and Undo (U or Ctrl+Z) reverts the last
// edit; the count, the table, the exports and the run record follow, the other objects keep their ids,
// and a share link makes the same edits again on the same image. A new run starts from the model's masks.
//
// Needs the site assembled first: bash scripts/build.sh wasm site
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  openApp, assertClean, waitForShell, waitForResult, canvasTop, shell, SHOTS, testBed,
} from './harness.mjs';

const bed = testBed();

const labelsOf = (page) => page.evaluate(() => {
  const r = window.celldrop.result();
  return { ids: r.objects.map((o) => o.label), width: r.labels.width, data: Array.from(r.labels.data) };
});

test('an object clicked in the image is removed with Delete and put back with Undo; table, exports, record and link follow', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const { page, problems } = await openApp(context, bed.origin);
  const first = await waitForResult(page);
  const n = first.segmentation.count;
  const before = await labelsOf(page);
  const objects = await page.evaluate(() => window.celldrop.result().objects);

  // Click an object in the image, as a person would, and press Delete.
  const target = objects[3];
  const px = Math.round(target.centroid_x), py = Math.round(target.centroid_y);
  assert.equal(before.data[py * before.width + px], target.label, 'the centroid pixel belongs to the object');
  const top = await canvasTop(page);
  const at = { x: first.view.originX + (px + 0.5) * first.view.zoom, y: first.view.originY + (py + 0.5) * first.view.zoom };
  await page.mouse.click(Math.round(at.x), Math.round(at.y + top), { delay: 60 });
  let s = await waitForShell(page, (st) => st.page.table.selected === target.label, 'the object selected');
  assert.ok(s.page.ui.remove_object, 'the Remove button is on screen');
  await page.keyboard.press('Delete');
  s = await waitForShell(page, (st) => st.segmentation.count === n - 1 && st.page.table.rows === n - 1, 'the object removed');
  assert.deepEqual(s.page.removed, [target.label]);
  assert.equal(s.page.table.selected, 0);

  // Its pixels are background, every other pixel keeps its id, and the table lost only its row.
  const after1 = await labelsOf(page);
  assert.deepEqual(after1.ids, before.ids.filter((id) => id !== target.label));
  let changed = 0;
  for (let i = 0; i < before.data.length; i++) {
    if (before.data[i] === target.label) {
      assert.equal(after1.data[i], 0);
      changed++;
    } else {
      assert.equal(after1.data[i], before.data[i]);
    }
  }
  assert.equal(changed, target.area_px);
  const record = await page.evaluate(() => JSON.parse(new TextDecoder().decode(window.celldrop.export('record').bytes)));
  assert.equal(record.objects, n - 1);
  assert.deepEqual(record.edits_by_hand, [{ removed: target.label }]);
  const csvRows = await page.evaluate(() => new TextDecoder().decode(window.celldrop.export('csv').bytes).trim().split('\r\n').length - 1);
  assert.equal(csvRows, n - 1);

  // U puts it back: the labels are the model's again.
  await page.keyboard.press('u');
  s = await waitForShell(page, (st) => st.segmentation.count === n && st.page.removed.length === 0, 'the removal undone');
  assert.equal(s.segmentation.labelsChecksum, first.segmentation.labelsChecksum);

  // The API: several at once, all or none; Ctrl+Z undoes the last.
  const [a, b] = [objects[0].label, objects[objects.length - 1].label];
  let r = await page.evaluate((ids) => window.celldrop.removeObjects(ids), [a, b]);
  assert.equal(r.objects.length, n - 2);
  for (const bad of [[a], [99999], [b + 0.5], [objects[1].label, objects[1].label]]) {
    const error = await page.evaluate((ids) => window.celldrop.removeObjects(ids).then(() => null, (e) => e.message), bad);
    assert.match(error, /no object/, `removeObjects(${JSON.stringify(bad)})`);
  }
  s = await waitForShell(page, (st) => st.segmentation.count === n - 2, 'nothing more removed');
  assert.deepEqual(s.page.removed, [a, b]);
  await page.keyboard.press('Control+z');
  s = await waitForShell(page, (st) => st.page.removed.length === 1, 'Ctrl+Z undoes the last removal');
  assert.deepEqual(s.page.removed, [a]);
  const edited = s.segmentation.labelsChecksum;

  // The share link names the removal; opened on the same image it removes the same object.
  const link = await page.evaluate(() => window.celldrop.shareLink());
  assert.equal(new URLSearchParams(new URL(link).hash.slice(1)).get('edits'), `r${a}`);
  const second = await openApp(context, bed.origin, new URL(link).hash);
  s = await waitForShell(second.page, (st) => st.segmentation.hasResult && st.page.removed.length === 1 &&
    st.page.table.rows === n - 1, 'the linked page with the removal', 120_000);
  assert.deepEqual(s.page.removed, [a]);
  assert.equal(s.segmentation.labelsChecksum, edited, 'identical labels, removal included');
  assert.equal(s.page.link.note, '');
  assertClean(second.problems);

  // A new run starts from the model's masks.
  r = await page.evaluate(() => window.celldrop.run({}));
  assert.equal(r.objects.length, n);
  s = await waitForShell(page, (st) => st.page.removed.length === 0, 'no removals after a new run');
  assert.equal(await page.evaluate(() => window.celldrop.undo().then(() => 'undone', (e) => e.message)),
    'nothing was removed or drawn by hand in this result');
  assertClean(problems);
  await context.close();
});

// The centre of a free square of side `side` in the labels (no object pixel in it), or null.
function freeSpot(labels, side) {
  const { width, data } = labels;
  const height = data.length / width;
  for (let y = side; y + side < height; y += 3) {
    for (let x = side; x + side < width; x += 3) {
      let free = true;
      for (let dy = -side / 2; dy <= side / 2 && free; dy++) {
        for (let dx = -side / 2; dx <= side / 2 && free; dx++) free = data[(y + dy) * width + x + dx] === 0;
      }
      if (free) return { x, y };
    }
  }
  return null;
}

test('a missed nucleus drawn around in draw mode becomes an object; Undo, the API and the link follow', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const { page, problems } = await openApp(context, bed.origin);
  const first = await waitForResult(page);
  const n = first.segmentation.count;
  const before = await labelsOf(page);
  const spot = freeSpot(before, 16);
  assert.ok(spot, 'the sample has a free 16 px square');

  // D, then a circle of radius 6 px traced around the spot with the mouse.
  const top = await canvasTop(page);
  const screen = (x, y) => ({ x: first.view.originX + (x + 0.5) * first.view.zoom, y: first.view.originY + (y + 0.5) * first.view.zoom + top });
  await page.keyboard.press('d');
  await waitForShell(page, (st) => st.page.drawMode, 'draw mode on');
  const start = screen(spot.x + 6, spot.y);
  await page.mouse.move(start.x, start.y);
  await page.mouse.down();
  for (let k = 1; k <= 48; k++) {
    const p = screen(spot.x + 6 * Math.cos((k / 48) * 2 * Math.PI), spot.y + 6 * Math.sin((k / 48) * 2 * Math.PI));
    await page.mouse.move(p.x, p.y);
  }
  await page.mouse.up();
  const id = n + 1;  // one above every id the result had
  let s = await waitForShell(page, (st) => st.segmentation.count === n + 1 && st.page.table.rows === n + 1, 'the drawn object');
  assert.deepEqual(s.page.drawn, [id]);
  assert.equal(s.page.table.selected, id, 'the new object is selected');
  assert.ok(s.page.drawMode, 'draw mode stays on for the next nucleus');

  // It took only background pixels, about a disc of radius 6; every other pixel kept its id.
  const drawn = await labelsOf(page);
  let area = 0;
  for (let i = 0; i < before.data.length; i++) {
    if (drawn.data[i] === id) {
      assert.equal(before.data[i], 0, 'a drawn pixel was background');
      area++;
    } else {
      assert.equal(drawn.data[i], before.data[i]);
    }
  }
  assert.ok(area > 80 && area < 150, `area ${area} px, a disc of radius 6 has 113`);
  const record = await page.evaluate(() => JSON.parse(new TextDecoder().decode(window.celldrop.export('record').bytes)));
  assert.equal(record.objects, n + 1);
  assert.equal(record.edits_by_hand.length, 1);
  assert.equal(record.edits_by_hand[0].drawn, id);
  const outline = record.edits_by_hand[0].outline;
  assert.ok(outline.length >= 6 && outline.length < 96 && outline.every(Number.isInteger), `outline ${outline}`);

  // Esc leaves draw mode: a drag pans again instead of tracing.
  await page.keyboard.press('Escape');
  s = await waitForShell(page, (st) => !st.page.drawMode, 'draw mode off');
  await page.mouse.move(start.x, start.y);
  await page.mouse.down();
  await page.mouse.move(start.x + 40, start.y + 30, { steps: 5 });
  await page.mouse.up();
  s = await waitForShell(page, (st) => st.view.originX !== first.view.originX, 'the drag panned');
  assert.equal(s.segmentation.count, n + 1);

  // The link draws it again on the same image: identical labels.
  const link = await page.evaluate(() => window.celldrop.shareLink());
  assert.match(new URLSearchParams(new URL(link).hash.slice(1)).get('edits'), /^d-?\d+_-?\d+(_-?\d+)+$/);
  const edited = s.segmentation.labelsChecksum;
  const second = await openApp(context, bed.origin, new URL(link).hash);
  s = await waitForShell(second.page, (st) => st.segmentation.hasResult && st.page.drawn.length === 1 &&
    st.page.table.rows === n + 1, 'the linked page with the drawing', 120_000);
  assert.equal(s.segmentation.labelsChecksum, edited, 'identical labels, drawing included');
  assert.equal(s.page.link.note, '');
  assertClean(second.problems);

  // U takes it away again: the model's labels.
  await page.keyboard.press('u');
  s = await waitForShell(page, (st) => st.segmentation.count === n && st.page.drawn.length === 0, 'the drawing undone');
  assert.equal(s.segmentation.labelsChecksum, first.segmentation.labelsChecksum);

  // The API: an outline over an object takes only the free pixels around it; one wholly inside an
  // object, or not an outline, is refused with a clear message and changes nothing.
  const objects = await page.evaluate(() => window.celldrop.result().objects);
  const o = objects[5];
  const box = (cx, cy, r) => [[cx - r, cy - r], [cx + r, cy - r], [cx + r, cy + r], [cx - r, cy + r]];
  const r = await page.evaluate((pts) => window.celldrop.drawObject(pts), box(o.centroid_x, o.centroid_y, Math.sqrt(o.area_px)));
  const added = r.record.edits_by_hand[0].drawn;
  assert.equal(added, id, 'the same new id: an undone drawing gives its id back');
  const after = r.labels.data;
  for (let i = 0; i < after.length; i++) {
    if (after[i] === added) assert.equal(before.data[i], 0, 'only free pixels');
    else assert.equal(after[i], before.data[i]);
  }
  for (const [bad, message] of [
    [box(Math.round(o.centroid_x), Math.round(o.centroid_y), 1), /no free pixel/],
    [[[1, 2], [3, 4]], /at least 3/],
    ['circle', /at least 3/],
    [[[1, 2], [3, 'x'], [5, 6]], /at least 3/],
  ]) {
    const error = await page.evaluate((pts) => window.celldrop.drawObject(pts).then(() => null, (e) => e.message), bad);
    assert.match(error ?? '', message, `drawObject(${JSON.stringify(bad)})`);
  }
  s = await waitForShell(page, (st) => st.page.drawn.length === 1, 'nothing more drawn');
  assert.equal(s.segmentation.count, n + 1);
  assertClean(problems);
  await context.close();
});

test('on a touch screen a finger traces in draw mode instead of moving the image', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const { page, problems } = await openApp(context, bed.origin);
  const first = await waitForResult(page);
  const n = first.segmentation.count;
  const spot = freeSpot(await labelsOf(page), 16);
  await page.keyboard.press('d');  // a phone's keyboard, or the panel's Draw below the image
  await waitForShell(page, (st) => st.page.drawMode, 'draw mode on');
  const top = await canvasTop(page);
  const v = first.view;
  const at = (k) => {
    const a = (k / 24) * 2 * Math.PI;
    return { x: v.originX + (spot.x + 0.5 + 6 * Math.cos(a)) * v.zoom, y: v.originY + (spot.y + 0.5 + 6 * Math.sin(a)) * v.zoom + top };
  };
  const cdp = await context.newCDPSession(page);
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [at(0)] });
  for (let k = 1; k <= 24; k++) {
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [at(k)] });
    await page.waitForTimeout(20);
  }
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  const s = await waitForShell(page, (st) => st.segmentation.count === n + 1, 'the object drawn by a finger');
  assert.deepEqual(s.page.drawn, [n + 1]);
  assert.deepEqual([s.view.originX, s.view.originY, s.view.zoom], [v.originX, v.originY, v.zoom], 'the image did not move');
  assertClean(problems);
  await context.close();
});

test('edits by hand are never dropped without a yes: Run, R and a moved threshold ask first', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const { page, problems } = await openApp(context, bed.origin);
  let s = await waitForResult(page);
  const top = await canvasTop(page);
  const click = async (rect) => page.mouse.click(Math.round((rect.x0 + rect.x1) / 2), Math.round((rect.y0 + rect.y1) / 2 + top), { delay: 60 });
  const id = (await page.evaluate(() => window.celldrop.result().objects))[2].label;
  await page.evaluate((i) => window.celldrop.removeObjects([i]), id);
  const runs = s.page.runsStarted;
  const params = (await shell(page)).page.params;

  // R asks; "Keep my edits" keeps them and runs nothing.
  await page.keyboard.press('r');
  s = await waitForShell(page, (st) => st.page.confirm === 'run' && st.page.ui['confirm.keep'], 'the question before a run');
  await page.screenshot({ path: path.join(SHOTS, 'remove-confirm.png') });
  await click(s.page.ui['confirm.keep']);
  s = await waitForShell(page, (st) => st.page.confirm === null, 'the dialog closed');
  assert.deepEqual(s.page.removed, [id]);
  assert.equal(s.page.runsStarted, runs);

  // A threshold moved by hand asks too; kept, the slider goes back to the result's value.
  await click({ ...s.page.ui['threshold.prob_thresh'], x1: s.page.ui['threshold.prob_thresh'].x0 + 40 });
  s = await waitForShell(page, (st) => st.page.confirm === 'thresholds' && st.page.ui['confirm.keep'],
    'the question before applying the thresholds');
  assert.notEqual(s.page.params, params, 'the slider moved');
  await click(s.page.ui['confirm.keep']);
  s = await waitForShell(page, (st) => st.page.confirm === null && st.page.params === params, 'the thresholds put back');
  assert.deepEqual(s.page.removed, [id]);
  assert.equal(s.page.runsStarted, runs);

  // Said yes to, the run goes ahead from the model's masks.
  await page.keyboard.press('r');
  s = await waitForShell(page, (st) => st.page.confirm === 'run' && st.page.ui['confirm.yes'], 'the question again');
  await click(s.page.ui['confirm.yes']);
  s = await waitForShell(page, (st) => st.page.runsStarted === runs + 1 && !st.segmentation.running && st.page.removed.length === 0,
    'the run after a yes');
  // Without edits nothing is asked.
  await page.keyboard.press('r');
  s = await waitForShell(page, (st) => st.page.runsStarted === runs + 2 && !st.segmentation.running, 'a run without a question');
  assert.equal(s.page.confirm, null);
  assertClean(problems);
  await context.close();
});

test('U pressed twice quickly undoes twice (a press and release between two frames is not lost)', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const { page, problems } = await openApp(context, bed.origin);
  await waitForResult(page);
  const objects = await page.evaluate(() => window.celldrop.result().objects);
  for (let round = 0; round < 3; round++) {
    await page.evaluate((ids) => window.celldrop.removeObjects(ids), [objects[1].label, objects[2].label]);
    await page.keyboard.press('u');
    await page.keyboard.press('u');
    await waitForShell(page, (st) => st.page.removed.length === 0, `two quick U undo both removals (round ${round + 1})`);
  }
  assertClean(problems);
  await context.close();
});
