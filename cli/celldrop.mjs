#!/usr/bin/env node
// celldrop: the command line over CellDrop's WebAssembly core (the same code as the page).
// No dependencies: Node's standard library and build/wasm/celldrop-node.{js,wasm} (src/api).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

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

  const takeJson = (ptr) => {
    ptr >>>= 0;
    const text = m.UTF8ToString(ptr);
    m._cd_free(ptr);
    return JSON.parse(text);
  };
  const withBytes = (bytes, fn) => {
    const ptr = m._cd_alloc(bytes.length) >>> 0;
    if (!ptr) throw new Error(`out of memory for ${bytes.length} bytes`);
    try {
      m.HEAPU8.set(bytes, ptr);
      return fn(ptr);
    } finally {
      m._cd_free(ptr);
    }
  };
  const withString = (s, fn) => withBytes(Buffer.from(s + '\0', 'utf8'), fn);

  return {
    version: () => m.UTF8ToString(m._cd_version() >>> 0),
    info: (bytes, maxMegapixels) => withBytes(bytes, (ptr) => takeJson(m._cd_info(ptr, bytes.length, maxMegapixels))),
    synth(params) {
      const out = m._cd_alloc(16) >>> 0;  // image ptr, image size, labels ptr, labels size (wasm32)
      try {
        const summary = withString(params, (p) => takeJson(m._cd_synth(p, out, out + 4, out + 8, out + 12)));
        if (summary.error) return { summary };
        const u32 = m.HEAPU32;
        const copy = (at) => {
          const ptr = u32[at >>> 2] >>> 0, size = u32[(at + 4) >>> 2] >>> 0;
          const bytes = Buffer.from(m.HEAPU8.subarray(ptr, ptr + size));
          m._cd_free(ptr);
          return bytes;
        };
        return { summary, image: copy(out), labels: copy(out + 8) };
      } finally {
        m._cd_free(out);
      }
    },
  };
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
const text = (value) => value;

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
  throw new UsageError(`unknown command "${command}" (commands: info, synth)`);
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
