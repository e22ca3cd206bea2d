// Cellpose-style flow dynamics on the GPU: the WGSL twin of follow_flows in src/core/flow.cpp, which
// stays the definition (tests/browser/shader.test.mjs runs both on the same inputs and compares).
//
// Two passes over a width x height image, both 8 x 8 workgroups over the pixel grid:
//   prepare: the network's planar flow (dy plane, then dx plane) becomes an interleaved field
//            (dy, dx) per pixel, divided by flow_scale, zero outside the foreground and where the
//            network gave NaN or infinity: a pixel that drifts into background stops there, as in C++.
//   follow:  every foreground pixel takes `niter` Euler steps of size |flow|, bilinearly sampled,
//            positions clamped to the image; every 4 steps it stops early when it only oscillates
//            (net move <= a quarter of its path over those steps) or has settled (path < 0.025 px),
//            the reference's rule, so the end points are the reference's, not just close to a
//            longer integration's. Background pixels end where they start.
// Pixels are independent, so each invocation integrates one pixel start to end; neighbours in a
// workgroup sample neighbouring parts of the field, which keeps it in cache.

struct Params {
  width: u32,
  height: u32,
  niter: u32,
  inv_scale: f32,  // 1 / flow_scale (the C++ takes 1 when flow_scale is 0)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> flow: array<f32>;            // 2 x height x width, planar
@group(0) @binding(2) var<storage, read> foreground: array<u32>;      // height x width, 0 or 1
@group(0) @binding(3) var<storage, read_write> field: array<vec2<f32>>;  // height x width (dy, dx)
@group(0) @binding(4) var<storage, read_write> ends: array<vec2<f32>>;   // height x width (y, x)

// WGSL has no isnan/isinf, and compilers may fold x != x away: test the exponent bits instead.
fn finite_or_zero(v: f32) -> f32 {
  return select(v, 0.0, (bitcast<u32>(v) & 0x7f800000u) == 0x7f800000u);
}

@compute @workgroup_size(8, 8)
fn prepare(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x >= params.width || id.y >= params.height) { return; }
  let i = id.y * params.width + id.x;
  let n = params.width * params.height;
  let keep = select(0.0, params.inv_scale, foreground[i] != 0u);
  field[i] = vec2<f32>(finite_or_zero(flow[i] * keep), finite_or_zero(flow[n + i] * keep));
}

@compute @workgroup_size(8, 8)
fn follow(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x >= params.width || id.y >= params.height) { return; }
  let w = params.width;
  let i = id.y * w + id.x;
  var p = vec2<f32>(f32(id.y), f32(id.x));
  if (foreground[i] == 0u) {
    ends[i] = p;
    return;
  }
  let pmax = vec2<f32>(f32(params.height - 1u), f32(w - 1u));
  var window = p;   // position at the start of the current 4 steps
  var path = 0.0;   // length (L1) travelled in them
  for (var it = 0u; it < params.niter; it = it + 1u) {
    let iy = u32(p.x);  // p >= 0: truncation is floor
    let ix = u32(p.y);
    let iy1 = min(iy + 1u, params.height - 1u);
    let ix1 = min(ix + 1u, w - 1u);
    let fy = p.x - f32(iy);
    let fx = p.y - f32(ix);
    let a = field[iy * w + ix];
    let b = field[iy * w + ix1];
    let c = field[iy1 * w + ix];
    let d = field[iy1 * w + ix1];
    let w00 = (1.0 - fy) * (1.0 - fx);
    let w01 = (1.0 - fy) * fx;
    let w10 = fy * (1.0 - fx);
    let w11 = fy * fx;
    let s = w00 * a + w01 * b + w10 * c + w11 * d;
    p = min(max(p + s, vec2<f32>(0.0)), pmax);
    path = path + abs(s.x) + abs(s.y);
    if ((it & 3u) == 3u) {
      let net = abs(p.x - window.x) + abs(p.y - window.y);
      if (net <= 0.25 * path || path < 0.025) { break; }
      window = p;
      path = 0.0;
    }
  }
  ends[i] = p;
}
