// window.celldrop: the page API for automation and embedding (docs/page-api.md), and the one way
// images get into the page: drag and drop, paste, the Open button and ?image= (web/app.js) all call
// open() here. Everything goes through the Dear ImGui module's cd_app_* functions (src/app/main.cpp),
// so the API and the UI can never disagree.

const POLL_MS = 50;

// Names for images that arrive without one (pasted screenshots, blobs).
const EXTENSIONS = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/tiff': 'tif', 'image/bmp': 'bmp' };

function describe(e) {
  return e && e.message ? e.message : String(e);
}

// The file name a URL points at: "https://host/a/cells%201.tif?x=1" -> "cells 1.tif".
export function fileNameOfUrl(url) {
  try {
    const last = new URL(url).pathname.split('/').filter(Boolean).pop() || '';
    return decodeURIComponent(last) || 'image';
  } catch {
    return 'image';
  }
}

// Downloads an image the user named by URL. The only request the page makes outside its origin,
// and only when asked: CORS and HTTP failures become sentences that say what to do instead.
export async function fetchImage(url) {
  let absolute;
  try {
    absolute = new URL(url, location.href);
  } catch {
    throw new Error(`"${url}" is not a web address. Give a full http:// or https:// address of an image file.`);
  }
  if (absolute.protocol !== 'https:' && absolute.protocol !== 'http:') {
    throw new Error(`${absolute.href} is not an http:// or https:// address: download the file and drop it here instead.`);
  }
  let response;
  try {
    // No cookies go along: the page never identifies the user to another site.
    response = await fetch(absolute.href, { mode: 'cors', credentials: 'omit', referrerPolicy: 'no-referrer' });
  } catch (e) {
    throw new Error(`The image at ${absolute.href} could not be downloaded: the server is unreachable or does not ` +
      'allow other sites to read its files (CORS). Download the image and drop it here instead.');
  }
  if (!response.ok) {
    throw new Error(`The image at ${absolute.href} could not be downloaded: the server answered HTTP ${response.status}` +
      `${response.statusText ? ` (${response.statusText})` : ''}. Check the address.`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

export function installPageApi(module) {
  const shell = () => window.celldropShell || {};

  // Calls an exported cd_app_* function with string arguments and reads its JSON answer.
  function call(name, ...args) {
    const ptrs = [];
    try {
      const values = args.map((a) => {
        if (typeof a !== 'string') return a;
        const n = module.lengthBytesUTF8(a) + 1;
        const p = module._malloc(n);
        module.stringToUTF8(a, p, n);
        ptrs.push(p);
        return p;
      });
      const answer = module[`_${name}`](...values);
      return answer ? JSON.parse(module.UTF8ToString(answer)) : null;
    } finally {
      ptrs.forEach((p) => module._free(p));
    }
  }

  function waitFor(predicate, what, timeoutMs = 600_000) {
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      const tick = () => {
        let value;
        try {
          value = predicate(shell());
        } catch {
          value = undefined;
        }
        if (value) resolve(value);
        else if (performance.now() - t0 > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
        else setTimeout(tick, POLL_MS);
      };
      tick();
    });
  }

  // What open() was given, read: a File or Blob, an ArrayBuffer or Uint8Array (with `name`), or a URL
  // (string or URL, downloaded). {bytes, name, url}; rejects with the sentence the page shows.
  async function read(source, name) {
    if (typeof source === 'string' || source instanceof URL) {
      const url = new URL(String(source), location.href).href;
      try {
        return { bytes: await fetchImage(url), name: name || fileNameOfUrl(url), url };
      } catch (e) {
        call('cd_app_open_failed', describe(e));
        throw e;
      }
    }
    if (source instanceof Blob) {
      const bytes = new Uint8Array(await source.arrayBuffer());
      return { bytes, name: name || source.name || `pasted-image.${EXTENSIONS[source.type] || 'png'}`, url: '' };
    }
    if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
      const bytes = source instanceof ArrayBuffer ? new Uint8Array(source)
        : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
      return { bytes, name: name || 'image', url: '' };
    }
    throw new TypeError('celldrop.open takes a File, a Blob, an ArrayBuffer, a Uint8Array or a URL');
  }

  // Puts page `page` of a read image on show (-1: the first, or a share link's page when the image
  // is the link's). Resolves with {name, width, height, channels, type, sha256, page, pages} once it
  // is on show (segmentation then starts by itself); rejects with the sentence the page shows.
  function show(image, page) {
    const p = module._malloc(Math.max(1, image.bytes.length));
    let answer;
    try {
      module.HEAPU8.set(image.bytes, p);
      answer = call('cd_app_open', p, image.bytes.length, image.name, image.url, page);
    } finally {
      module._free(p);
    }
    if (answer.error) throw new Error(answer.error);
    delete answer.ok;
    return answer;
  }

  // Several images at once (a drop, the file chooser, the launch queue) and the pages of a multi-page
  // TIFF (a time-lapse, a z-stack) make a list: the first by name is opened and the others wait in
  // that order, each read only when it is opened (a folder's worth costs no memory); the panel's
  // Previous and Next step through them with the same parameters. An entry is {source, name, url,
  // page}: a file's pages take its place in the list once it is first opened, when their number is
  // known. Opening one image of one page on its own ends the list.
  let list = [], position = 0;
  let batchRunning = false;  // segmentAll is stepping through the list
  const byName = (a, b) => String(a.name ?? '').localeCompare(String(b.name ?? ''), undefined, { numeric: true });
  const entryName = (e) => (e.page === undefined ? e.name : `${e.name}, page ${e.page + 1}`);

  function showPosition() {
    call('cd_app_image_list', position, list.length, list[position] ? entryName(list[position]) : '');
  }

  // Opens entry i of `items`; a multi-page file's first opening puts an entry per page in its place.
  // firstPage: the page a file's first opening shows (-1: the first, or a share link's). Resolves as
  // show() does, with `index`: the place of the page on show in `items`.
  async function openEntry(items, i, firstPage = -1) {
    const e = items[i];
    const image = await read(e.source, e.name);
    image.url = e.url || image.url;
    const opened = show(image, e.page ?? firstPage);
    if (e.page === undefined && opened.pages > 1) {
      const source = e.source instanceof Blob ? e.source : new Blob([image.bytes]);
      const pages = Array.from({ length: opened.pages }, (_, k) => ({ source, name: image.name, url: image.url, page: k }));
      items.splice(i, 1, ...pages);
      return { ...opened, index: i + opened.page };
    }
    return { ...opened, index: i };
  }

  // The list changes only once its first image is on show: a file that cannot be opened leaves the
  // image, its results and the list the user had.
  async function open(source, name) {
    let items;
    if (Array.isArray(source) || (typeof FileList !== 'undefined' && source instanceof FileList)) {
      const files = Array.from(source);
      if (files.length === 0 || !files.every((f) => f instanceof Blob)) {
        throw new TypeError('celldrop.open takes a list of Files (or Blobs) only when it holds at least one');
      }
      items = files.sort(byName).map((f) => ({ source: f, name: String(f.name ?? '') }));
    } else {
      items = [{ source, name }];
    }
    const { index, ...opened } = await openEntry(items, 0);
    list = items.length > 1 ? items : [];
    position = list.length > 1 ? index : 0;
    showPosition();
    return opened;
  }

  // The image `delta` places further in the list (no wrapping at either end); null when there is none.
  async function step(delta) {
    if (batchRunning) throw new Error('the images are being segmented one after the other: wait for segmentAll to finish');
    const next = position + delta;
    if (list.length < 2 || next < 0 || next >= list.length) return null;
    position = next;
    showPosition();
    const { index, ...opened } = await openEntry(list, position);
    position = index;
    showPosition();
    return opened;
  }

  // Saves bytes as a download, as the panel's export buttons do.
  function save(name, mime, bytes) {
    const url = URL.createObjectURL(new Blob([bytes], { type: mime }));
    const link = document.createElement('a');
    link.href = url;
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }

  // "Segment all": each image of the list in turn, with the model and parameters in use, its labels,
  // measurements and run record kept for one zip with summary.csv (src/app/results.h). An image that
  // cannot be opened or segmented gets its reason in the summary and the rest go on; a cancelled run
  // stops the batch, and the zip holds what was done. Resolves with {name, mime, bytes, images, failed}.
  async function segmentAll() {
    if (list.length < 2) throw new Error('segmentAll needs a list: open several images together first');
    if (batchRunning) throw new Error('the images are being segmented already');
    batchRunning = true;
    const items = list;  // opening other images meanwhile replaces `list` and ends the batch
    call('cd_app_batch_begin', items.length);
    let failed = 0, stopped = '';
    const fail = (i, why) => {
      call('cd_app_batch_failed', String(items[i].name ?? `image ${i + 1}`), items[i].page ?? -1, why);
      failed++;
    };
    try {
      for (let i = 0; i < items.length; i++) {
        const name = entryName(items[i]);
        if (!stopped && list !== items) stopped = 'not segmented: other images were opened';
        if (stopped) {
          fail(i, stopped);
          continue;
        }
        await waitFor((s) => s.segmentation?.modelsKnown && !s.segmentation.running && s.ready, 'the page to be idle');
        const started = shell().page.runsStarted;
        position = i;
        showPosition();
        try {
          const before = items.length;
          await openEntry(items, i, 0);  // a multi-page file: its pages join the batch from the first
          if (items.length !== before) {
            call('cd_app_batch_total', items.length);
            showPosition();
          }
        } catch (e) {
          fail(i, describe(e));
          continue;
        }
        // Opening starts the run by itself: wait for it to end in a result, an error or a cancel.
        const g = await waitFor((s) => (s.page.runsStarted > started && !s.segmentation.running ? s.segmentation : null),
          `the segmentation of ${name}`);
        if (g.cancelled) {
          stopped = 'not segmented: cancelled';
          fail(i, stopped);
        } else if (g.error) {
          fail(i, `segmentation failed: ${g.error}`);
        } else if (call('cd_app_batch_add').error) {
          failed++;
        }
      }
    } catch (e) {
      call('cd_app_batch_finish');  // ends the batch in the panel; its zip is not wanted
      throw e;
    } finally {
      batchRunning = false;
    }
    const z = call('cd_app_batch_finish');
    if (z.error) throw new Error(z.error);
    const bytes = module.HEAPU8.slice(z.data, z.data + z.size);
    return { name: z.name, mime: z.mime, bytes, images: items.length, failed };
  }

  module.imageList = {  // the panel's buttons and keys
    step: (delta) => step(delta).catch(() => {}),
    segmentAll: () => segmentAll().then((z) => save(z.name, z.mime, z.bytes)).catch((e) => console.warn(`celldrop: ${describe(e)}`)),
  };

  function exportBytes(key) {
    const answer = call('cd_app_export', key);
    if (answer.error) throw new Error(answer.error);
    const bytes = module.HEAPU8.slice(answer.data, answer.data + answer.size);
    return { name: answer.name, mime: answer.mime, bytes };
  }

  // The last result: the label image (width, height, Uint32Array of ids, 0 = background), the object
  // table (one object per row, the CSV's columns) and the run record. null before the first result.
  function result() {
    if (!shell().segmentation?.hasResult) return null;
    const l = call('cd_app_labels');
    if (l.error) return null;
    const n = l.width * l.height;
    const data = new Uint32Array(module.HEAPU8.buffer.slice(l.data, l.data + n * 4));
    const csv = new TextDecoder().decode(exportBytes('csv').bytes).trim().split('\r\n');
    const columns = csv[0].split(',');
    const objects = csv.slice(1).map((line) => {
      const cells = line.split(',');
      return Object.fromEntries(columns.map((c, i) => [c, cells[i] === '' ? null : Number(cells[i])]));
    });
    const record = JSON.parse(new TextDecoder().decode(exportBytes('record').bytes));
    return { labels: { width: l.width, height: l.height, data }, objects, record };
  }

  // Starts a run with `params` (any of model, diameter (0 = automatic), the model's thresholds such
  // as prob_thresh, exclude_border, percentile_low, percentile_high, invert, tile, channel, merge) and resolves with result()
  // when the masks are ready; rejects with the page's message when the run fails or is cancelled.
  async function run(params = {}) {
    await waitFor((s) => s.segmentation?.modelsKnown && !s.segmentation.running && s.ready, 'the page to be idle');
    const before = shell().segmentation.runs;
    const answer = call('cd_app_run', JSON.stringify(params));
    if (answer.error) throw new Error(answer.error);
    const s = await waitFor((st) => {
      const g = st.segmentation;
      return g && !g.running && (g.runs > before || g.error || g.cancelled) ? g : null;
    }, 'the segmentation to finish');
    if (s.runs === before) throw new Error(s.error ? `Segmentation failed: ${s.error}` : 'Segmentation cancelled.');
    return result();
  }

  // Edits by hand to the result on show. removeObjects takes false detections out: ids as in the
  // object table, removed in that order, all or none. drawObject adds a missed nucleus: its outline as
  // [[x, y], ...] in image pixels (rounded to whole pixels); it takes only free pixels and gets a new id,
  // the record's last edits_by_hand entry. undo() reverts the last edit. The other objects keep their
  // ids; the table, the exports and shareLink() follow. Each resolves with result() once they have.
  async function removeObjects(ids) {
    return afterEdit(call('cd_app_remove_objects', JSON.stringify(Array.from(ids ?? [], Number))));
  }

  async function drawObject(points) {
    const outline = Array.from(points ?? [], (p) => Array.from(p ?? [], Number));
    return afterEdit(call('cd_app_draw_object', JSON.stringify(outline)));
  }

  async function undo() {
    return afterEdit(call('cd_app_undo_edit'));
  }

  // The pixel size in micrometres for the image on show and every one opened after it, over what
  // their files say (0: each file's own again). The areas in um^2, the exports and shareLink() follow;
  // the labels do not change. Resolves with result() once the table has it (null without a result).
  async function setPixelSize(um) {
    const answer = call('cd_app_set_pixel_size', Number(um));
    if (answer.error) throw new Error(answer.error);
    const want = Number(um) > 0 ? 'user' : null;
    await waitFor((s) => s.page && (want ? s.page.image.pixelSizeFrom === want : s.page.image.pixelSizeFrom !== 'user'),
      'the pixel size to be in use');
    return shell().segmentation?.hasResult ? result() : null;
  }

  // Counts the nuclei positive for a marker, as the panel's "Count positive": those whose mean in
  // `marker`, a channel (from 0) or a stain ('dab' on a slide read through its hematoxylin: each
  // nucleus's mean optical density), reaches `threshold` (a number, or null for Otsu's split of the
  // nuclei's means); a marker of null or -1 stops counting. Nothing runs again: result().objects gain
  // `positive` (1 or 0), the exports, the record and shareLink() follow. `grades`, the 2+ and 3+
  // thresholds [t2, t3] on top of `threshold` as the 1+ one, grades the nuclei as the panel's "Grade"
  // does (objects gain `grade`, 0 to 3; the page state's positive.hScore). Resolves with result()
  // (null without one).
  async function setPositive(marker, threshold = null, grades = null) {
    const stain = typeof marker === 'string' ? marker : '';
    const c = stain ? -1 : marker === null || marker === undefined ? -1 : Number(marker);
    if (!Number.isInteger(c) || c < -1) throw new Error('setPositive takes a channel from 0, \'dab\' or \'hematoxylin\' (or -1 to stop counting)');
    const t = threshold === null || threshold === undefined ? NaN : Number(threshold);
    if (threshold !== null && threshold !== undefined && !Number.isFinite(t)) throw new Error('setPositive takes a finite threshold, or null for Otsu\'s');
    if (grades !== null && !(Array.isArray(grades) && grades.length === 2)) throw new Error('setPositive\'s grades are [2+, 3+] thresholds, or null');
    const g = grades ? grades.map(Number) : [NaN, NaN];
    const answer = call('cd_app_set_positive', c, stain, t);
    if (answer.error) throw new Error(answer.error);
    const graded = call('cd_app_set_grades', g[0], g[1]);
    if (graded.error) {
      call('cd_app_set_grades', NaN, NaN);  // the count by one threshold stands, without grades
      throw new Error(graded.error);
    }
    await waitFor((s) => s.page && s.page.positive.channel === c && (s.page.positive.stain ?? '') === stain.toLowerCase() &&
      s.page.positive.otsu === Number.isNaN(t) && JSON.stringify(s.page.positive.grades) === JSON.stringify(grades ? g : null),
    'the count to follow');
    return shell().segmentation?.hasResult ? result() : null;
  }

  async function afterEdit(answer) {
    if (answer.error) throw new Error(answer.error);
    const edits = `${answer.removed}|${answer.drawn}`;
    await waitFor((s) => s.page && `${s.page.removed}|${s.page.drawn}` === edits && s.page.table.rows === s.segmentation.count,
      'the table to follow the edit');
    return result();
  }

  // A link that reproduces the current result: this page's address with the state in its fragment.
  function shareLink() {
    const fragment = module.UTF8ToString(module._cd_app_share_fragment());
    return `${location.origin}${location.pathname}#${fragment}`;
  }

  // The backend of the last run ("wasm", "webgpu"), or null before the first.
  function backend() {
    return shell().segmentation?.backend || null;
  }

  const api = {
    open,
    next: () => step(1),
    previous: () => step(-1),
    segmentAll,
    run,
    result,
    removeObjects,
    drawObject,
    undo,
    setPixelSize,
    setPositive,
    shareLink,
    backend,
    export: exportBytes,
    ready: () => waitFor((s) => s.ready && s.segmentation?.modelsKnown, 'the page to start').then(() => true),
  };
  window.celldrop = Object.freeze(api);

  // A share link opened: its parameters now, its image (when it names a URL) right after.
  const fragment = location.hash.replace(/^#/, '');
  let linkImage = '';
  if (/(^|&)celldrop=/.test(fragment)) {
    const answer = call('cd_app_apply_link', fragment);
    if (answer && !answer.error) linkImage = answer.imageUrl;
  }
  const queryImage = new URLSearchParams(location.search).get('image');
  const firstImage = queryImage || linkImage;
  if (firstImage) {
    call('cd_app_expect_image');
    open(firstImage).catch((e) => console.warn(`celldrop: ${describe(e)}`));
  }
  return api;
}
