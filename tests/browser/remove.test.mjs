// Removing objects by hand, in headless Chromium: a false detection clicked in the image goes with
// Delete and comes back with Undo (U or Ctrl+Z); the count, the table, the exports and the run record
// follow, the other objects keep their ids, and a share link removes the same objects again on the
// same image. A new run starts from the model's masks.
//
// Needs the site assembled first: bash scripts/build.sh wasm site
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertSiteBuilt, startServer, launch, openApp, assertClean, waitForShell, waitForResult, canvasTop,
} from './harness.mjs';

let browser, server, origin;

before(async () => {
  assertSiteBuilt();
  ({ child: server, origin } = await startServer());
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.kill();
});

const labelsOf = (page) => page.evaluate(() => {
  const r = window.celldrop.result();
  return { ids: r.objects.map((o) => o.label), width: r.labels.width, data: Array.from(r.labels.data) };
});

test('an object clicked in the image is removed with Delete and put back with Undo; table, exports, record and link follow', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const { page, problems } = await openApp(context, origin);
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
  assert.deepEqual(record.removed_by_hand, [target.label]);
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
  assert.equal(new URLSearchParams(new URL(link).hash.slice(1)).get('removed'), String(a));
  const second = await openApp(context, origin, new URL(link).hash);
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
  assert.equal(await page.evaluate(() => window.celldrop.undoRemoval().then(() => 'undone', (e) => e.message)),
    'no object was removed by hand from this result');
  assertClean(problems);
  await context.close();
});
