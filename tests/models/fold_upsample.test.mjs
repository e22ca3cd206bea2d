// models/train/fold_upsample.py: the folded graph gives the unfolded one's outputs (to float
// rounding) on both ONNX Runtimes the app uses, keeps the weights as stored, and folding is
// idempotent. The networks are the recipe's (models/train/model.py) with random weights, exported
// at test time with and without the fold; the shipped models must be folded ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import ortNode from 'onnxruntime-node';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const train = path.join(root, 'models', 'train');

// Exports one random-weight network twice (plain, folded) and reports each file's operators, its
// float16 initializers' element count and the number of chains folded (then again on the result).
const EXPORT = `
import sys, json, torch, onnx
sys.path.insert(0, sys.argv[1])
from model import UNet
from export import store_weights_float16
from fold_upsample import fold_upsample_file
kind, grid, channels, out = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
torch.manual_seed(3)
net = UNet(kind, in_channels=channels, base=8, depth=3, n_rays=8, grid=grid).eval()
names = ["prob", "dist"] if kind == "star" else ["cellprob", "flow"]
plain, folded = out + "/plain.onnx", out + "/folded.onnx"
torch.onnx.export(net, torch.zeros(1, channels, 64, 64), plain, opset_version=13, input_names=["image"],
                  output_names=names, dynamic_axes={"image": {2: "h", 3: "w"}, **{n: {2: "oh", 3: "ow"} for n in names}})
store_weights_float16(plain)
folds = fold_upsample_file(plain, folded)
again = fold_upsample_file(folded, out + "/again.onnx")
def describe(p):
    m = onnx.load(p)
    f16 = sum(int(torch.tensor(list(t.dims)).prod()) for t in m.graph.initializer if t.data_type == onnx.TensorProto.FLOAT16)
    return {"ops": sorted({n.op_type for n in m.graph.node}), "float16_elements": f16}
print(json.dumps({"folds": folds, "again": again, "plain": describe(plain), "folded": describe(folded)}))
`;

async function runBoth(file, data, dims) {
  const require = createRequire(import.meta.url);
  const mod = await import('onnxruntime-web');
  const ortWeb = mod.default ?? mod;
  ortWeb.env.wasm.wasmPaths = path.dirname(require.resolve('onnxruntime-web')) + path.sep;
  ortWeb.env.wasm.numThreads = 1;
  const bytes = fs.readFileSync(file);
  const out = {};
  for (const [name, ort] of [['native', ortNode], ['wasm', ortWeb]]) {
    const session = await ort.InferenceSession.create(name === 'wasm' ? bytes.slice() : bytes, name === 'wasm' ? { executionProviders: ['wasm'] } : {});
    const r = await session.run({ image: new ort.Tensor('float32', data, dims) });
    out[name] = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, { dims: v.dims, data: v.data }]));
    await session.release?.();
  }
  return out;
}

for (const [kind, grid, channels, folds] of [['star', 2, 1, 2], ['flow', 1, 3, 3]]) {
  test(`fold_upsample, ${kind} network (grid ${grid}, ${channels} channel(s)): same outputs, weights as stored, idempotent`, async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `celldrop-fold-${kind}-`));
    const report = JSON.parse(execFileSync('/usr/bin/python3', ['-c', EXPORT, train, kind, String(grid), String(channels), tmp],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n').at(-1));
    assert.equal(report.folds, folds, 'every decoder level folded');
    assert.equal(report.again, 0, 'a folded graph has nothing left to fold');
    assert.ok(report.plain.ops.includes('Resize'));
    assert.ok(!report.folded.ops.includes('Resize'), `no upsampling left: ${report.folded.ops}`);
    assert.equal(report.folded.float16_elements, report.plain.float16_elements, 'the same float16 weights, no float32 copy');

    // A non-square tile (multiples of the divisor 8) so a swapped row/column phase would show.
    const [h, w] = [40, 56];
    const data = new Float32Array(channels * h * w);
    for (let i = 0; i < data.length; i++) data[i] = 0.5 + 0.5 * Math.sin(i * 0.37) * Math.cos(i * 0.011);
    const plain = await runBoth(path.join(tmp, 'plain.onnx'), data, [1, channels, h, w]);
    const folded = await runBoth(path.join(tmp, 'folded.onnx'), data, [1, channels, h, w]);
    for (const backend of ['native', 'wasm']) {
      for (const [name, ref] of Object.entries(plain[backend])) {
        const got = folded[backend][name];
        assert.deepEqual(got.dims, ref.dims, `${backend} ${name} dims`);
        let scale = 0, diff = 0;
        for (let i = 0; i < ref.data.length; i++) {
          scale = Math.max(scale, Math.abs(ref.data[i]));
          diff = Math.max(diff, Math.abs(ref.data[i] - got.data[i]));
        }
        assert.ok(scale > 0, `${backend} ${name}: the random network's output is not all zero`);
        assert.ok(diff <= 1e-5 * Math.max(1, scale), `${backend} ${name}: folded differs by ${diff} (values up to ${scale})`);
      }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });
}

test('the shipped models are folded (what the recipe exports)', () => {
  const script = 'import sys, onnx\nfor p in sys.argv[1:]:\n    print(p, sorted({n.op_type for n in onnx.load(p).graph.node}))';
  const files = fs.readdirSync(path.join(root, 'models')).filter((f) => f.endsWith('.onnx')).map((f) => path.join(root, 'models', f));
  if (files.length === 0) return;
  const lines = execFileSync('/usr/bin/python3', ['-c', script, ...files], { encoding: 'utf8' }).trim().split('\n');
  for (const line of lines) assert.ok(!line.includes("'Resize'"), `not folded: ${line}`);
});
