#!/usr/bin/env node
// celldrop: the command line over CellDrop's WebAssembly core (the same code as the page).
// Node's standard library and build/wasm/celldrop-node.{js,wasm} (src/api); `segment` adds ONNX Runtime
// (onnxruntime-node, or onnxruntime-web's WebAssembly build with --backend wasm), loaded only there.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { bindCore, checkSession, segmentTiles } from '../src/api/celldrop_api.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUILD = process.env.CELLDROP_BUILD ? path.resolve(process.env.CELLDROP_BUILD) : path.join(ROOT, 'build');
const MODULE_JS = path.join(BUILD, 'wasm', 'celldrop-node.js');
const MODULE_WASM = path.join(BUILD, 'wasm', 'celldrop-node.wasm');

const USAGE = `celldrop: segment microscopy images with CellDrop's WebAssembly core.

Usage:
  celldrop info [--max-megapixels N] FILE...
      One JSON line per file: {"file","format","width","height","channels","type","pages",
      "pixel_size_um"}, or {"file","error"} (exit code 1 if any file failed).
      --max-megapixels N   refuse images above N megapixels (width x height) before decoding
  celldrop synth --seed N --out DIR [options]
      Synthetic fluorescence nuclei with exact labels: writes DIR/synth-N.png (the image) and
      DIR/synth-N-labels.png (16-bit labels, 0 = background), prints a JSON summary line.
      --width W --height H   image size in pixels (default 512 x 512; 8..8192)
      --bits 8|16            sample depth (default 16: camera-like, offset ~100)
      --diameter D           mean nucleus diameter in pixels (default 22)
      --spread S             relative spread of diameters (default 0.25)
      --density F            fraction of the area covered by nuclei (default 0.35)
      --count N              place N nuclei instead (excludes --density)
      --overlap F            how far neighbours may overlap, fraction of radius (default 0.15)
      --blur S               optical blur sigma in pixels (default 1.2)
      --background F         background level relative to nuclei (default 0.08)
      --photons P            photons at full signal, sets shot noise (default 300; 0 = none)
      --read-noise R         camera read noise in photons (default 2)
  celldrop segment FILE|DIR... --out DIR [options]
      Segments each image (a DIR stands for its png, jpg, jpeg, bmp, tif and tiff files, sorted) and
      writes DIR/<stem>.png (16-bit labels; above 65535 objects the TIFF instead) plus the exports
      asked for. One JSON line per image: {"file","objects","diameter","diameter_estimated","scale",
      "tiles","seconds","written"} (and "page" with --page all, "positive" and "positive_threshold"
      with --positive, "grades" and "h_score" with graded --positive), or {"file","error"}: a bad
      file is reported and skipped, and the exit code is 1 at the end if any failed. A progress bar
      goes to stderr when it is a terminal.
      --model NAME|PATH      NAME: <repo>/models/NAME.json; PATH: a model card (.json), or an .onnx
                             with its card of the same stem beside it (default: nuclei-star)
      --diameter D|auto      object diameter in px (default auto: estimated by a first pass)
      --prob-thresh X --nms-thresh X           star models (default: the card's)
      --cellprob-thresh X --flow-thresh X      flow models (default: the card's)
      --min-area PX          remove objects under PX image px (default: the card's; 0 keeps all)
      --exclude-border       remove objects the image border cuts (partial nuclei)
      --pixel-size UM        pixel size in micrometres, over what the files say: areas in um^2
                             (CSV, GeoJSON), the label files' calibration and the record follow
      --channel N            use channel N (from 0) of multi-channel images (default: a one-channel
                             model reads the mean of all; an RGB model reads channels 0-2)
      --stain hematoxylin|dab
                             instead of channels, one stain's density by colour deconvolution of an
                             RGB picture of a slide (Ruifrok & Johnston's H-DAB): hematoxylin is the
                             nuclei of an immunohistochemistry (IHC) slide, bright on dark, as a
                             fluorescence model sees nuclei
      --estimate-stains      with --stain: unmix with the slide's own hematoxylin and DAB colours,
                             estimated from its stained pixels (Macenko's method), instead of
                             Ruifrok & Johnston's; the line gets "stain_vectors", the record too
      --tile N               tile size in network px (default 512); --overlap N (default 64)
      --percentiles LO,HI    normalisation percentiles (default: the card's)
      --invert               invert the normalised image (Cellpose's --invert): dark nuclei on a
                             bright background (a grey brightfield picture) for a fluorescence model
      --positive N[:T]       count the nuclei positive for a marker in channel N (from 0): those whose
                             mean there is >= T (default otsu: Otsu's split of the nuclei's means).
                             The line gets "positive" and "positive_threshold"; the CSV a "positive"
                             column, the GeoJSON QuPath's Positive/Negative classes, the record the rule.
                             --positive dab[:T] on an IHC slide read with --stain: the nuclei's mean DAB
                             density is the marker (the CSV has each stain's as hematoxylin_od_mean
                             and dab_od_mean)
      --positive dab:T1,T2,T3
                             grade the nuclei 1+, 2+, 3+ from T1, T2, T3 (QuPath's: 0.2,0.4,0.6),
                             the rest negative: the line gets "grades" ([negative, 1+, 2+, 3+]) and
                             "h_score" (1 x %1+ + 2 x %2+ + 3 x %3+, 0 to 300); the CSV a "grade"
                             column, the GeoJSON QuPath's classes Negative, 1+, 2+, 3+
      --page N|all           page of multi-page TIFFs (default 0, numbered from 0); all: every page,
                             each one's outputs named <stem>_pageN (a time-lapse, a z-stack)
      --max-megapixels N     refuse images above N megapixels
      --export LIST          comma-separated: labels (the PNG, always written), tiff, csv, geojson,
                             roi (ImageJ ROI zip), record (JSON run record), all
      --backend native|wasm  onnxruntime-node (default) or onnxruntime-web's WebAssembly kernels,
                             those of the page
      --threads N            inference threads (default: up to 4)
  celldrop eval --gt DIR --pred DIR [--json]
      Scores predicted label images against ground-truth labels, paired by file stem: AP@0.5 and
      AP@0.75 (TP / (TP + FP + FN) summed over the images), F1@0.5, and the DSB score (per image the
      mean AP over IoU 0.50..0.95, then the mean over images). Unpaired files are reported.
  celldrop --version | --help

Environment: CELLDROP_BUILD moves the build folder (default <repo>/build); the module is
CELLDROP_BUILD/wasm/celldrop-node.js.`;

class UsageError extends Error {}

// --- the WebAssembly module -------------------------------------------------------------------
async function loadCore() {
  if (!fs.existsSync(MODULE_JS) || !fs.existsSync(MODULE_WASM)) {
    throw new Error(
      `the CellDrop WebAssembly module is missing (${MODULE_JS}). Build it with ` +
        `"bash scripts/build.sh wasm" in ${ROOT} (or "npm test", which builds everything)` +
        (process.env.CELLDROP_BUILD ? '' : ', or point CELLDROP_BUILD at a build folder that has wasm/'),
    );
  }
  const require = createRequire(import.meta.url);
  const createCellDrop = require(MODULE_JS);
  // Emscripten 3.1.6's loader would fetch() the .wasm, which Node 20 refuses for local paths.
  const m = await createCellDrop({ wasmBinary: fs.readFileSync(MODULE_WASM) });
  return bindCore(m);
}

// --- argument parsing -------------------------------------------------------------------------
// Options as `--name value` or `--name=value`; `spec` maps each name to a parser of its value.
function parseArgs(command, args, spec) {
  const options = {};
  const positional = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '-') {
      if (arg.startsWith('-') && arg !== '-') throw new UsageError(`${command}: unknown option ${arg}`);
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    if (!(name in spec)) throw new UsageError(`${command}: unknown option --${name}`);
    if (spec[name] === flag) {
      if (eq >= 0) throw new UsageError(`${command}: --${name} takes no value`);
      options[name] = true;
      continue;
    }
    let value;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (i + 1 < args.length && !args[i + 1].startsWith('--')) value = args[++i];
    if (value === undefined || value === '') throw new UsageError(`${command}: --${name} needs a value`);
    options[name] = spec[name](value, `--${name}`, command);
  }
  return { options, positional };
}

function number(value, flag, command) {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${command}: ${flag} must be a number, not "${value}"`);
  return n;
}
function integer(value, flag, command) {
  const n = number(value, flag, command);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new UsageError(`${command}: ${flag} must be a whole number >= 0, not "${value}"`);
  }
  return n;
}
// --page: a page number, or "all" for every page of a multi-page TIFF.
function pageOption(value, flag, command) {
  if (value === 'all') return 'all';
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 0) {
    throw new UsageError(`${command}: ${flag} must be a whole number >= 0 or all, not "${value}"`);
  }
  return n;
}
const text = (value) => value;
const flag = () => true;  // an option without a value

// --- commands ---------------------------------------------------------------------------------
async function info(args) {
  const { options, positional } = parseArgs('info', args, { 'max-megapixels': number });
  if (positional.length === 0) throw new UsageError('info: name at least one FILE');
  if (options['max-megapixels'] !== undefined && !(options['max-megapixels'] > 0)) {
    throw new UsageError('info: --max-megapixels must be above 0');
  }
  const core = await loadCore();
  let failed = false;
  for (const file of positional) {
    let line;
    try {
      const bytes = fs.readFileSync(file);
      line = { file, ...core.info(bytes, options['max-megapixels'] ?? 0) };
    } catch (e) {
      line = { file, error: e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.message };
    }
    if (line.error) failed = true;
    console.log(JSON.stringify(line));
  }
  return failed ? 1 : 0;
}

const SYNTH_OPTIONS = {
  seed: integer, out: text, width: integer, height: integer, bits: integer, diameter: number, spread: number,
  density: number, count: integer, overlap: number, blur: number, background: number, photons: number,
  'read-noise': number,
};

async function synth(args) {
  const { options, positional } = parseArgs('synth', args, SYNTH_OPTIONS);
  if (positional.length) throw new UsageError(`synth: unexpected argument "${positional[0]}"`);
  if (options.seed === undefined) throw new UsageError('synth: --seed N is required');
  if (options.out === undefined) throw new UsageError('synth: --out DIR is required');
  if (options.count !== undefined && options.density !== undefined) {
    throw new UsageError('synth: give --count or --density, not both');
  }
  if (options.bits !== undefined && options.bits !== 8 && options.bits !== 16) {
    throw new UsageError(`synth: --bits must be 8 or 16, not ${options.bits}`);
  }
  const params = Object.entries(options)
    .filter(([name]) => name !== 'out')
    .map(([name, value]) => `${name.replace('-', '_')}=${value}`)
    .join(' ');

  const core = await loadCore();
  const result = core.synth(params);
  if (result.summary.error) throw new Error(result.summary.error);
  fs.mkdirSync(options.out, { recursive: true });
  const imagePath = path.join(options.out, `synth-${options.seed}.png`);
  const labelsPath = path.join(options.out, `synth-${options.seed}-labels.png`);
  fs.writeFileSync(imagePath, result.image);
  fs.writeFileSync(labelsPath, result.labels);
  const s = result.summary;
  console.log(JSON.stringify({
    seed: Number(s.seed), width: s.width, height: s.height, bits: s.bits, count: s.count,
    overlapped: s.overlapped, image: imagePath, labels: labelsPath,
  }));
  return 0;
}

// --- segment ------------------------------------------------------------------------------------
const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff']);
const EXPORTS = ['labels', 'tiff', 'csv', 'geojson', 'roi', 'record'];
const DEFAULT_MODEL = 'nuclei-star';

// FILE arguments as given; DIR arguments as their image files (not recursive), sorted by name.
function expandInputs(inputs) {
  const files = [];
  for (const input of inputs) {
    let stat;
    try {
      stat = fs.statSync(input);
    } catch {
      files.push(input);  // reported as missing when its turn comes
      continue;
    }
    if (!stat.isDirectory()) {
      files.push(input);
      continue;
    }
    const names = fs.readdirSync(input)
      .filter((name) => IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase()))
      .filter((name) => fs.statSync(path.join(input, name)).isFile())
      .sort();
    files.push(...names.map((name) => path.join(input, name)));
  }
  return files;
}

// NAME -> <repo>/models/NAME.json; a .json path is the card; an .onnx path has its card beside it.
function resolveModel(spec) {
  const isPath = spec.includes('/') || spec.includes(path.sep) || /\.(json|onnx)$/i.test(spec);
  let card;
  if (!isPath) {
    card = path.join(ROOT, 'models', `${spec}.json`);
    if (!fs.existsSync(card)) {
      const known = fs.existsSync(path.join(ROOT, 'models'))
        ? fs.readdirSync(path.join(ROOT, 'models')).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5))
        : [];
      throw new Error(`no model named "${spec}": ${card} does not exist` +
        (known.length ? ` (models here: ${known.join(', ')})` : ' (no models in models/ yet: pass --model PATH to a card)'));
    }
  } else if (/\.onnx$/i.test(spec)) {
    card = spec.replace(/\.onnx$/i, '.json');
    if (!fs.existsSync(card)) throw new Error(`the model ${spec} has no card: expected ${card} beside it (models/README.md says what a card holds)`);
  } else {
    card = spec;
    if (!fs.existsSync(card)) throw new Error(`model card not found: ${card}`);
  }
  return card;
}

async function loadOrt(backend, threads) {
  const require = createRequire(import.meta.url);
  if (backend === 'native') {
    let ort;
    try {
      ort = (await import('onnxruntime-node')).default;
    } catch (e) {
      throw new Error(`onnxruntime-node could not be loaded (${e.message.split('\n')[0]}); install it with ` +
        `"ONNXRUNTIME_NODE_INSTALL=skip npm install" in ${ROOT}, or use --backend wasm`);
    }
    return { ort, options: { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1 } };
  }
  let entry;
  try {
    entry = require.resolve('onnxruntime-web');  // the package's Node build (dist/ort.node.min.js)
  } catch {
    throw new Error(`onnxruntime-web is not installed: run "npm install" in ${ROOT}`);
  }
  const mod = await import('onnxruntime-web');
  const ort = mod.default ?? mod;
  // The same WebAssembly kernels the page runs, read from the package's own dist/ (never fetched).
  ort.env.wasm.wasmPaths = path.dirname(entry) + path.sep;
  ort.env.wasm.numThreads = threads;
  return { ort, options: { executionProviders: ['wasm'] } };
}

// The model: card checked by the core, ONNX bytes against the card, then the session's names.
async function openModel(core, spec, backend, threads) {
  const cardPath = resolveModel(spec);
  const cardText = fs.readFileSync(cardPath, 'utf8');
  const { json: card, handle } = core.modelOpen(cardText);
  if (card.error) throw new Error(`${cardPath}: ${card.error}`);
  try {
    const onnxPath = path.join(path.dirname(cardPath), card.onnx.file);
    let bytes;
    try {
      bytes = fs.readFileSync(onnxPath);
    } catch {
      throw new Error(`${cardPath}: its ONNX file ${onnxPath} is missing`);
    }
    try {
      core.modelCheckOnnx(handle, bytes);
    } catch (e) {
      throw new Error(`${onnxPath}: ${e.message}`);
    }
    const { ort, options } = await loadOrt(backend, threads);
    let session;
    try {
      session = await ort.InferenceSession.create(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), options);
    } catch (e) {
      throw new Error(`${onnxPath}: ONNX Runtime (${backend}) could not load it: ${e.message}`);
    }
    try {
      checkSession(core, handle, session);
    } catch (e) {
      throw new Error(`${onnxPath}: ${e.message}`);
    }
    return { card, cardPath, handle, session, ort };
  } catch (e) {
    core.modelFree(handle);
    throw e;
  }
}

function parseDiameter(value, flag, command) {
  if (value === 'auto') return 0;
  const n = number(value, flag, command);
  if (!(n > 0)) throw new UsageError(`${command}: ${flag} must be "auto" or a diameter in px above 0, not "${value}"`);
  return n;
}
function parsePercentiles(value, flag, command) {
  const parts = value.split(',');
  if (parts.length !== 2) throw new UsageError(`${command}: ${flag} takes LOW,HIGH (e.g. 1,99.8), not "${value}"`);
  return parts.map((p) => number(p, flag, command));
}
// The stains colour deconvolution unmixes (src/core/stains.h), as --stain and --positive name them.
const STAINS = ['hematoxylin', 'dab'];

// --positive N[:T] or STAIN[:T]: the marker (a channel from 0, as --channel, or a stain) and its
// threshold, or Otsu's; or STAIN:T1,T2,T3, the thresholds of the grades 1+, 2+ and 3+.
function parsePositive(value, flag, command) {
  const [marker, threshold, extra] = value.split(':');
  if (extra !== undefined) throw new UsageError(`${command}: ${flag} takes N or N:THRESHOLD (e.g. 1 or 1:350, dab or dab:0.2), not "${value}"`);
  const stain = marker.toLowerCase();
  if (!STAINS.includes(stain) && !/^\d+$/.test(marker)) {
    throw new UsageError(`${command}: ${flag} takes a channel number or a stain (${STAINS.join(', ')}), not "${marker}"`);
  }
  const thresholds = threshold === undefined || threshold === 'otsu' ? [] : threshold.split(',').map((t) => number(t, flag, command));
  if (thresholds.length === 2 || thresholds.length > 3) {
    throw new UsageError(`${command}: ${flag} takes one threshold, or three for the grades 1+, 2+ and 3+ (e.g. dab:0.2,0.4,0.6), not "${threshold}"`);
  }
  if (thresholds.length === 3 && !(thresholds[0] <= thresholds[1] && thresholds[1] <= thresholds[2])) {
    throw new UsageError(`${command}: ${flag}'s thresholds for the grades 1+, 2+ and 3+ must rise, not "${threshold}"`);
  }
  return {
    marker: STAINS.includes(stain) ? stain : integer(marker, flag, command),
    threshold: thresholds.length ? thresholds[0] : null,
    grades: thresholds.length === 3 ? thresholds.slice(1) : null,
  };
}
function parseExports(value, flag, command) {
  const list = value.split(',').map((v) => v.trim()).filter(Boolean);
  const out = new Set();
  for (const e of list) {
    if (e === 'all') EXPORTS.forEach((x) => out.add(x));
    else if (EXPORTS.includes(e)) out.add(e);
    else throw new UsageError(`${command}: ${flag} knows ${EXPORTS.join(', ')} and all, not "${e}"`);
  }
  return out;
}
function parseStain(value, flag, command) {
  const stain = value.toLowerCase();
  if (!STAINS.includes(stain)) throw new UsageError(`${command}: ${flag} must be hematoxylin or dab, not "${value}"`);
  return stain;
}
function parseBackend(value, flag, command) {
  if (value !== 'native' && value !== 'wasm') throw new UsageError(`${command}: ${flag} must be native or wasm, not "${value}"`);
  return value;
}

const SEGMENT_OPTIONS = {
  out: text, model: text, diameter: parseDiameter, 'prob-thresh': number, 'nms-thresh': number,
  'cellprob-thresh': number, 'flow-thresh': number, 'min-area': number,
  'exclude-border': flag, 'pixel-size': number, channel: integer, stain: parseStain, 'estimate-stains': flag, tile: integer, overlap: integer,
  percentiles: parsePercentiles, invert: flag, positive: parsePositive, page: pageOption, 'max-megapixels': number, export: parseExports,
  backend: parseBackend, threads: integer,
};

// A one-line progress bar, redrawn in place; only on a terminal.
function progressBar(total) {
  const tty = process.stderr.isTTY;
  let last = '';
  return {
    grow(more) {
      total += more;
    },
    update(done, file, tile) {
      if (!tty) return;
      const width = 24, filled = Math.round((width * done) / Math.max(1, total));
      const tilePart = tile ? `  pass ${tile.pass}/${tile.passes} tile ${tile.index + 1}/${tile.count}` : '';
      const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${path.basename(file)}${tilePart}`;
      if (line !== last) process.stderr.write(`\r${line.slice(0, (process.stderr.columns || 100) - 1)}\x1b[K`);
      last = line;
    },
    clear() {
      if (tty && last) process.stderr.write('\r\x1b[K');
      last = '';
    },
  };
}

async function segment(args) {
  const { options, positional } = parseArgs('segment', args, SEGMENT_OPTIONS);
  if (positional.length === 0) throw new UsageError('segment: name at least one FILE or DIR');
  if (options.out === undefined) throw new UsageError('segment: --out DIR is required');
  if (options.threads === 0) throw new UsageError('segment: --threads must be at least 1');
  if (options['max-megapixels'] !== undefined && !(options['max-megapixels'] > 0)) {
    throw new UsageError('segment: --max-megapixels must be above 0');
  }
  if (options['pixel-size'] !== undefined && !(options['pixel-size'] > 0)) {
    throw new UsageError('segment: --pixel-size must be a length in micrometres above 0');
  }
  const exports = options.export ?? new Set(['labels']);
  const backend = options.backend ?? 'native';
  const threads = options.threads ?? Math.max(1, Math.min(4, os.availableParallelism?.() ?? os.cpus().length));
  const params = {};
  if (options.diameter !== undefined) params.diameter = options.diameter;
  if (options.channel !== undefined) params.channel = options.channel;
  if (typeof options.positive?.marker === 'string' && options.stain === undefined) {
    throw new UsageError(`segment: --positive ${options.positive.marker} reads each nucleus's stain density, measured on a slide read through a stain: add --stain hematoxylin`);
  }
  if (options.stain !== undefined) {
    if (options.channel !== undefined) throw new UsageError('segment: give --channel or --stain, not both');
    params.stain = options.stain;
    if (options['estimate-stains']) params.estimate_stains = true;
  } else if (options['estimate-stains']) {
    throw new UsageError('segment: --estimate-stains estimates the colours of the stains --stain unmixes: add --stain hematoxylin');
  }
  if (options.tile !== undefined) params.tile = options.tile;
  if (options.overlap !== undefined) params.overlap = options.overlap;
  if (options['exclude-border']) params.exclude_border = true;
  if (options.percentiles) [params.percentile_low, params.percentile_high] = options.percentiles;
  if (options.invert) params.invert = true;
  for (const [flag, key] of [['prob-thresh', 'prob_thresh'], ['nms-thresh', 'nms_thresh'],
    ['cellprob-thresh', 'cellprob_thresh'], ['flow-thresh', 'flow_thresh'], ['min-area', 'min_area']]) {
    if (options[flag] !== undefined) params[key] = options[flag];
  }

  const files = expandInputs(positional);
  if (files.length === 0) throw new Error(`no image files (${[...IMAGE_EXTENSIONS].join(', ')}) in ${positional.join(', ')}`);
  const core = await loadCore();
  const model = await openModel(core, options.model ?? DEFAULT_MODEL, backend, threads);
  const outDir = options.out;
  fs.mkdirSync(outDir, { recursive: true });

  // One job per image, or per page with --page all: a file's other pages join the jobs after its
  // first is decoded (only then is their number known).
  const allPages = options.page === 'all';
  const jobs = files.map((file) => ({ file, page: allPages ? 0 : options.page ?? 0 }));
  const bar = progressBar(jobs.length);
  const stems = new Map();
  let failed = 0;
  try {
    for (let i = 0; i < jobs.length; i++) {
      const { file, page: pageIndex } = jobs[i];
      const t0 = performance.now();
      const pageDigits = jobs[i].pages > 1 ? String(jobs[i].pages - 1).length : 0;
      const stem = path.basename(file).replace(/\.[^.]*$/, '') + (pageDigits ? `_page${String(pageIndex).padStart(pageDigits, '0')}` : '');
      const line = allPages ? { file, page: pageIndex } : { file };
      let image = 0, result = 0;
      try {
        if (stems.has(stem)) throw new Error(`its outputs would overwrite those of ${stems.get(stem)} (same name ${stem}): rename one`);
        stems.set(stem, file);
        const target = (ext) => path.join(outDir, `${stem}${ext}`);
        if (path.resolve(target('.png')) === path.resolve(file) || path.resolve(target('.tif')) === path.resolve(file)) {
          throw new Error('its labels would overwrite the image itself: choose another --out');
        }
        bar.update(i, file);
        let bytes;
        try {
          bytes = fs.readFileSync(file);
        } catch (e) {
          throw new Error(e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.message);
        }
        const decoded = core.imageDecode(bytes, pageIndex, options['max-megapixels'] ?? 0);
        if (decoded.json.error) throw new Error(decoded.json.error);
        image = decoded.handle;
        if (allPages && jobs[i].pages === undefined && decoded.json.pages > 1) {
          // The first page of a stack: its pages become jobs, this one the first (named _page0).
          const pages = decoded.json.pages;
          jobs.splice(i, 1, ...Array.from({ length: pages }, (_, k) => ({ file, page: k, pages })));
          core.imageFree(image);
          image = 0;
          stems.delete(stem);
          bar.grow(pages - 1);
          i--;
          continue;
        }
        if (options['pixel-size'] !== undefined) core.imageSetPixelSize(image, options['pixel-size']);
        const startedAt = new Date().toISOString();
        const seg = await segmentTiles(core, model.ort, model, image, params, { onTile: (tile) => bar.update(i, file, tile) });
        result = seg.result;
        core.imageFree(image);
        image = 0;
        const positive = options.positive && core.resultClassify(result, options.positive.marker, options.positive.threshold, options.positive.grades);

        const written = [];
        const write = (format, ext, opts) => {
          const r = core.resultExport(result, format, opts);
          if (r.error) throw new Error(`${format}: ${r.error}`);
          fs.writeFileSync(target(ext), r.bytes);
          written.push(target(ext));
        };
        const png = core.resultExport(result, 'labels_png');
        if (png.error) {
          if (!/65535/.test(png.error)) throw new Error(png.error);
          line.note = `${seg.summary.objects} objects do not fit a 16-bit PNG: the labels are in the TIFF`;
          write('labels_tiff', '.tif');
        } else {
          fs.writeFileSync(target('.png'), png.bytes);
          written.push(target('.png'));
          if (exports.has('tiff')) write('labels_tiff', '.tif');
        }
        if (exports.has('csv')) write('csv', '.csv');
        if (exports.has('geojson')) write('geojson', '.geojson');
        if (exports.has('roi')) write('roi', '.roi.zip');
        if (exports.has('record')) {
          // A multi-page TIFF's record says which page it is (0-based, as --page).
          const page = decoded.json.pages > 1 ? { image_page: pageIndex } : {};
          write('record', '.json', { image_name: path.basename(file), started_at: startedAt, ...page });
        }
        const s = seg.summary;
        Object.assign(line, {
          objects: s.objects, diameter: Number(s.diameter.toFixed(2)), diameter_estimated: s.diameter_estimated,
          scale: Number(s.scale.toFixed(4)), tiles: s.tiles, seconds: Number(((performance.now() - t0) / 1000).toFixed(3)),
          written,
        });
        if (positive) Object.assign(line, { positive: positive.positive, positive_threshold: positive.threshold });
        if (positive?.grades) {
          Object.assign(line, { grades: positive.grades, h_score: positive.h_score === null ? null : Number(positive.h_score.toFixed(1)) });
        }
        if (params.estimate_stains) {
          const round = (v) => v.map((x) => Number(x.toFixed(3)));
          line.stain_vectors = { hematoxylin: round(s.stain_vectors.hematoxylin), dab: round(s.stain_vectors.dab) };
        }
        if (s.note) line.note = line.note ? `${line.note}; ${s.note}` : s.note;
      } catch (e) {
        failed++;
        line.error = e.message;
      } finally {
        if (result) core.resultFree(result);
        if (image) core.imageFree(image);
      }
      bar.clear();
      console.log(JSON.stringify(line));
      if (!process.stderr.isTTY && jobs.length > 1) {
        const what = allPages && jobs[i].pages > 1 ? `${file} page ${pageIndex}` : file;
        process.stderr.write(`[${i + 1}/${jobs.length}] ${what}: ${line.error ? `failed: ${line.error}`
          : `${line.objects} objects${line.note ? ` (${line.note})` : ''}`}\n`);
      }
    }
  } finally {
    bar.clear();
    core.modelFree(model.handle);
    await model.session.release?.();
  }
  if (failed) process.stderr.write(`celldrop segment: ${failed} of ${jobs.length} image${jobs.length === 1 ? '' : 's'} failed\n`);
  return failed ? 1 : 0;
}

// --- eval -----------------------------------------------------------------------------------------
// Label files of a folder by stem; when a stem has several (x.png and x.tif), PNG is preferred.
function labelFiles(dir, flag) {
  let names;
  try {
    names = fs.readdirSync(dir);
  } catch {
    throw new UsageError(`eval: ${flag} ${dir} is not a readable folder`);
  }
  const rank = { '.png': 0, '.tif': 1, '.tiff': 2 };
  const byStem = new Map();
  for (const name of names.sort()) {
    const ext = path.extname(name).toLowerCase();
    if (!(ext in rank)) continue;
    const stem = name.slice(0, -ext.length);
    const prev = byStem.get(stem);
    if (!prev || rank[ext] < rank[path.extname(prev).toLowerCase()]) byStem.set(stem, name);
  }
  return new Map([...byStem].map(([stem, name]) => [stem, path.join(dir, name)]));
}

async function evaluate(args) {
  const { options, positional } = parseArgs('eval', args, { gt: text, pred: text, json: flag });
  if (positional.length) throw new UsageError(`eval: unexpected argument "${positional[0]}"`);
  if (!options.gt || !options.pred) throw new UsageError('eval: --gt DIR and --pred DIR are required');
  const gt = labelFiles(options.gt, '--gt'), pred = labelFiles(options.pred, '--pred');
  const missingPred = [...gt.keys()].filter((s) => !pred.has(s));
  const missingGt = [...pred.keys()].filter((s) => !gt.has(s));
  const core = await loadCore();
  const sums = Array.from({ length: 10 }, () => ({ tp: 0, fp: 0, fn: 0 }));
  const dsb = [];
  const errors = [];
  for (const [stem, gtFile] of gt) {
    if (!pred.has(stem)) continue;
    const r = core.evalPair(fs.readFileSync(gtFile), fs.readFileSync(pred.get(stem)));
    if (r.error) {
      errors.push({ stem, error: r.error });
      continue;
    }
    r.tp.forEach((v, k) => {
      sums[k].tp += v;
      sums[k].fp += r.fp[k];
      sums[k].fn += r.fn[k];
    });
    dsb.push(r.dsb);
  }
  const ap = (c) => (c.tp + c.fp + c.fn === 0 ? 1 : c.tp / (c.tp + c.fp + c.fn));
  const f1 = (c) => (2 * c.tp + c.fp + c.fn === 0 ? 1 : (2 * c.tp) / (2 * c.tp + c.fp + c.fn));
  const report = {
    images: dsb.length,
    ap50: ap(sums[0]), ap75: ap(sums[5]), f1_50: f1(sums[0]),
    dsb: dsb.length ? dsb.reduce((a, b) => a + b, 0) / dsb.length : null,
    tp50: sums[0].tp, fp50: sums[0].fp, fn50: sums[0].fn,
    missing_predictions: missingPred, missing_ground_truth: missingGt, errors,
  };
  if (options.json) {
    console.log(JSON.stringify(report));
  } else {
    const f = (v) => (v === null ? '-' : v.toFixed(4));
    console.log(`images ${report.images}  AP@0.5 ${f(report.ap50)}  AP@0.75 ${f(report.ap75)}  F1@0.5 ${f(report.f1_50)}  DSB ${f(report.dsb)}`);
    console.log(`at IoU 0.5: TP ${report.tp50}  FP ${report.fp50}  FN ${report.fn50}`);
    for (const s of missingPred) console.error(`no prediction for ${gt.get(s)}`);
    for (const s of missingGt) console.error(`no ground truth for ${pred.get(s)}`);
    for (const e of errors) console.error(`${e.stem}: ${e.error}`);
  }
  if (dsb.length === 0) {
    console.error(`celldrop eval: no pair of files with the same name in ${options.gt} and ${options.pred}`);
    return 1;
  }
  return errors.length ? 1 : 0;
}

async function main(argv) {
  const [command, ...args] = argv;
  if (command === undefined) {
    console.error(USAGE);
    return 2;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (command === '--version' || command === '-V') {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    let core = 'module not built';
    try {
      core = (await loadCore()).version();
    } catch {
      // --version must work before the first build; the line says what is missing.
    }
    console.log(`celldrop ${pkg.version} (core ${core})`);
    return 0;
  }
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  if (command === 'info') return info(args);
  if (command === 'synth') return synth(args);
  if (command === 'segment') return segment(args);
  if (command === 'eval') return evaluate(args);
  throw new UsageError(`unknown command "${command}" (commands: info, synth, segment, eval)`);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  if (e instanceof UsageError) {
    console.error(`celldrop ${e.message}\nRun "celldrop --help" for usage.`);
    process.exitCode = 2;
  } else {
    console.error(`celldrop: ${e.message}`);
    process.exitCode = 1;
  }
}
