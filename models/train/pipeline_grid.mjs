// Threshold grid search through the full pipeline, as the app runs it: automatic diameter, tiles,
// the model's ONNX in onnxruntime-node, the core's post-processing, scored by the core's matching
// (the same numbers as `celldrop segment` then `celldrop eval`, for every grid point at once).
//
// train.py chooses a model's thresholds on val at the ground truth's scale with the PyTorch network;
// a model that exists only as ONNX (a test-time-augmentation wrapper, models/train/tta.py) has no
// PyTorch twin, so its thresholds are chosen here, on the same grid, by the same rule (best AP@0.5).
// Each image runs through the network once: the other grid points re-post-process its kept outputs
// (cd_result_repostprocess), unless a threshold moves the automatic diameter to another scale, when
// the image runs again in full.
//
//   node --no-experimental-fetch models/train/pipeline_grid.mjs --model models/nuclei-flow.json \
//        --images /tmp/val/fluorescence/img --gt /tmp/val/fluorescence/gt [--threads 1] [--json]
//        [--at-gt-scale] [--niter-scale F]
//
// --at-gt-scale gives each image its ground truth's median nucleus diameter instead of the automatic
// estimate: train.py's protocol for choosing thresholds (it runs the network at that scale), and a
// fixed scale lets every grid point re-use the image's one network run.
// --niter-scale F runs the flow dynamics here (core.flowFollow, through segmentTiles's followFlows
// hook) with F times the pipeline's Euler steps: what the step count is worth (every grid point then
// runs the network again, as the kept outputs' re-post-processing would use the core's own steps).
//
// Grid (train.py's): flow cellprob -1, -0.5, 0, 0.5 x flow 0.4, 0.6, 0.8; star prob 0.3 ... 0.7 x
// nms 0.3, 0.4, 0.5. --cellprob, --flow, --prob, --nms replace an axis with a comma-separated list.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { bindCore, checkSession, segmentTiles } from '../../src/api/celldrop_api.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUILD = process.env.CELLDROP_BUILD || path.join(ROOT, 'build');
const GRIDS = {
  flow: { cellprob_thresh: [-1, -0.5, 0, 0.5], flow_thresh: [0.4, 0.6, 0.8] },
  star: { prob_thresh: [0.3, 0.4, 0.5, 0.6, 0.7], nms_thresh: [0.3, 0.4, 0.5] },
};
const AXIS_FLAGS = { cellprob: 'cellprob_thresh', flow: 'flow_thresh', prob: 'prob_thresh', nms: 'nms_thresh' };
const IMAGE_EXTENSIONS = new Set(['.png', '.tif', '.tiff', '.jpg', '.jpeg', '.bmp']);

function parse(argv) {
  const o = { threads: 1, axes: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--model') o.model = value();
    else if (a === '--images') o.images = value();
    else if (a === '--gt') o.gt = value();
    else if (a === '--threads') o.threads = Number(value());
    else if (a === '--json') o.json = true;
    else if (a === '--at-gt-scale') o.atGtScale = true;
    else if (a === '--niter-scale') {
      o.niterScale = Number(value());
      if (!(o.niterScale > 0)) throw new Error('--niter-scale takes a number above 0');
    }
    else if (a.startsWith('--') && AXIS_FLAGS[a.slice(2)]) {
      const list = value().split(',').map(Number);
      if (list.some((v) => !Number.isFinite(v))) throw new Error(`${a} takes numbers separated by commas`);
      o.axes[AXIS_FLAGS[a.slice(2)]] = list;
    } else throw new Error(`unknown argument ${a} (see the comment at the top of ${path.basename(fileURLToPath(import.meta.url))})`);
  }
  if (!o.model || !o.images || !o.gt) throw new Error('--model CARD, --images DIR and --gt DIR are required');
  return o;
}

async function loadCore() {
  const js = path.join(BUILD, 'wasm', 'celldrop-node.js');
  if (!fs.existsSync(js)) throw new Error(`${js} is missing: run "bash scripts/build.sh wasm" (or set CELLDROP_BUILD)`);
  const create = createRequire(import.meta.url)(js);
  return bindCore(await create({ wasmBinary: fs.readFileSync(js.replace(/\.js$/, '.wasm')) }));
}

async function openModel(core, cardPath, threads) {
  const { json: card, handle } = core.modelOpen(fs.readFileSync(cardPath, 'utf8'));
  if (card.error) throw new Error(`${cardPath}: ${card.error}`);
  const bytes = fs.readFileSync(path.join(path.dirname(cardPath), card.onnx.file));
  core.modelCheckOnnx(handle, bytes);
  const ort = (await import('onnxruntime-node')).default;
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1,
  });
  checkSession(core, handle, session);
  return { ort, model: { handle, card, session } };
}

// Every combination of the axes' values, as pipeline parameter objects.
function gridPoints(axes) {
  let points = [{}];
  for (const [key, values] of Object.entries(axes)) {
    points = points.flatMap((p) => values.map((v) => ({ ...p, [key]: v })));
  }
  return points;
}

function score(pairs) {  // as `celldrop eval`: AP summed over images, DSB the mean of per-image means
  const sums = Array.from({ length: 10 }, () => ({ tp: 0, fp: 0, fn: 0 }));
  let dsb = 0;
  for (const r of pairs) {
    r.tp.forEach((v, k) => { sums[k].tp += v; sums[k].fp += r.fp[k]; sums[k].fn += r.fn[k]; });
    dsb += r.dsb;
  }
  const ap = (c) => (c.tp + c.fp + c.fn === 0 ? 1 : c.tp / (c.tp + c.fp + c.fn));
  const c = sums[0];
  return { ap50: ap(c), ap75: ap(sums[5]), f1_50: 2 * c.tp / Math.max(2 * c.tp + c.fp + c.fn, 1), dsb: dsb / pairs.length };
}

// Median equivalent-circle diameter (2 sqrt(area / pi), numpy's median) of each label image's objects,
// as the core's median_object_diameter and train.py measure it, by stem. Debian's numpy and PIL.
function gtDiameters(dir) {
  const script = `
import json, os, sys
import numpy as np
from PIL import Image
out = {}
for f in sorted(os.listdir(sys.argv[1])):
    lab = np.asarray(Image.open(os.path.join(sys.argv[1], f))).astype(np.int64)
    areas = np.bincount(lab.ravel())[1:]
    areas = areas[areas > 0]
    out[os.path.splitext(f)[0]] = float(np.median(2 * np.sqrt(areas / np.pi))) if len(areas) else 0.0
print(json.dumps(out))`;
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, dir], { encoding: 'utf8', maxBuffer: 1 << 24 }));
}

async function main() {
  const o = parse(process.argv.slice(2));
  const core = await loadCore();
  const { ort, model } = await openModel(core, o.model, o.threads);
  const axes = { ...GRIDS[model.card.kind], ...o.axes };
  const points = gridPoints(axes);
  const files = fs.readdirSync(o.images).filter((f) => IMAGE_EXTENSIONS.has(path.extname(f).toLowerCase())).sort();
  const gtFiles = new Map(fs.readdirSync(o.gt).map((f) => [f.replace(/\.[^.]*$/, ''), path.join(o.gt, f)]));
  const diameters = o.atGtScale ? gtDiameters(o.gt) : null;
  const perPoint = points.map(() => []);
  let networkRuns = 0, inferenceMs = 0;
  for (const file of files) {
    const stem = file.replace(/\.[^.]*$/, '');
    if (!gtFiles.has(stem)) throw new Error(`no ground truth for ${file} in ${o.gt}`);
    const gt = fs.readFileSync(gtFiles.get(stem));
    const decoded = core.imageDecode(fs.readFileSync(path.join(o.images, file)));
    if (decoded.json.error) throw new Error(`${file}: ${decoded.json.error}`);
    const image = decoded.handle;
    let kept = 0;  // a result whose network outputs the next grid points re-post-process
    try {
      for (const [k, point] of points.entries()) {
        const params = diameters && diameters[stem] > 0 ? { ...point, diameter: diameters[stem] } : point;
        let result = 0;
        if (kept && !o.niterScale) {
          const r = core.resultRepostprocess(kept, image, params);
          if (!r.json.error) result = r.handle;
          else if (!r.json.needs_network) throw new Error(`${file}: ${r.json.error}`);
        }
        if (!result) {  // first point, or the thresholds moved the automatic diameter to another scale
          const hooks = o.niterScale ? {
            followFlows: async ({ flow, foreground, width, height, niter, flowScale }) =>
              core.flowFollow(flow, foreground, width, height, Math.max(1, Math.round(niter * o.niterScale)), flowScale),
          } : { keepMaps: true };
          const seg = await segmentTiles(core, ort, model, image, params, hooks);
          networkRuns++;
          inferenceMs += seg.inferenceMs;
          result = seg.result;
          if (kept) core.resultFree(kept);
          kept = result;
        }
        const png = core.resultExport(result, 'labels_png');
        if (result !== kept) core.resultFree(result);
        if (png.error) throw new Error(`${file}: ${png.error}`);
        const e = core.evalPair(gt, png.bytes);
        if (e.error) throw new Error(`${file}: ${e.error}`);
        perPoint[k].push(e);
      }
    } finally {
      if (kept) core.resultFree(kept);
      core.imageFree(image);
    }
    process.stderr.write(`\r${perPoint[0].length}/${files.length} images, ${networkRuns} network runs`);
  }
  process.stderr.write('\n');
  const rows = points.map((p, k) => ({ thresholds: p, ...score(perPoint[k]) }));
  const scale = (o.atGtScale ? 'each image at its ground truth\'s median diameter' : 'automatic diameter') +
    (o.niterScale ? `, ${o.niterScale} x the Euler steps` : '');
  const best = rows.reduce((a, b) => (b.ap50 > a.ap50 ? b : a));
  if (o.json) {
    console.log(JSON.stringify({ model: model.card.name, images: files.length, scale, rows, best, network_runs: networkRuns, inference_s: inferenceMs / 1000 }));
    return;
  }
  const f = (v) => v.toFixed(4);
  for (const r of rows) {
    const name = Object.entries(r.thresholds).map(([k, v]) => `${k} ${v}`).join(', ');
    console.log(`${name.padEnd(40)} AP@0.5 ${f(r.ap50)}  AP@0.75 ${f(r.ap75)}  F1@0.5 ${f(r.f1_50)}  DSB ${f(r.dsb)}${r === best ? '  <- best AP@0.5' : ''}`);
  }
  console.log(`${files.length} images (${scale}), ${networkRuns} network runs, inference ${(inferenceMs / 1000).toFixed(1)} s`);
}

main().catch((e) => {
  console.error(`pipeline_grid: ${e.message}`);
  process.exit(1);
});
