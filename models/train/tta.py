"""Test-time augmentation as an ONNX graph around a shipped model: the image is seen flipped and
transposed (the dihedral group of the square, or a subset), each view runs through the same network,
each output is mapped back to the image's frame, and the views are averaged. The weights are shared
by every view (only the nodes that depend on the image are repeated), so the file barely grows, and
the result is an ordinary model for the app: same input, same outputs, same card contract.

Mapping back is exact for full-resolution outputs (flow models): a view's flow vectors are in the
view's frame, so a flip along an axis negates that axis's component and a transpose swaps dy and dx.
Star models' rays are permuted as src/core/star.h documents, but their outputs sit on a grid of every
grid-th pixel, which a flip does not map onto itself (grid cell g holds pixel g * grid, and the
flipped view's cells land one pixel off): the view is shifted by one pixel before the flip so that
its grid cells are the original image's (see view_input).

    /usr/bin/python3 models/train/tta.py models/nuclei-flow.json --views 8 --out models/nuclei-flow-tta

writes <out>.onnx and <out>.json (the card: the model's own, with the new name, file, sha256 and a
`training.tta` record; its thresholds and metrics are the source model's until chosen again on val)."""
import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

INT64_MIN = -(2 ** 63)

# (transpose, flip_h, flip_w): transpose first (swap height and width), then the flips.
VIEWS = {
    1: [(False, False, False)],
    2: [(False, False, False), (False, False, True)],
    4: [(False, False, False), (False, False, True), (False, True, False), (False, True, True)],
    8: [(t, h, w) for t in (False, True) for h in (False, True) for w in (False, True)],
}


class GraphBuilder:
    def __init__(self):
        self.nodes, self.inits = [], []
        self.count = 0

    def name(self, stem):
        self.count += 1
        return f"tta/{stem}_{self.count}"

    def const(self, stem, array):
        t = numpy_helper.from_array(np.asarray(array), self.name(stem))
        self.inits.append(t)
        return t.name

    def op(self, op_type, inputs, stem=None, **attrs):
        out = self.name(stem or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def reverse(self, x, axis):
        """x reversed along `axis` (Slice with step -1)."""
        return self.op("Slice", [x, self.const("start", np.array([-1], np.int64)),
                                 self.const("end", np.array([INT64_MIN], np.int64)),
                                 self.const("axis", np.array([axis], np.int64)),
                                 self.const("step", np.array([-1], np.int64))], "flip")

    def shift_right(self, x, axis):
        """x moved one element toward higher indices along `axis`, the first element repeated (edge
        padding), the size kept: out[i] = x[max(i - 1, 0)]."""
        first = self.op("Slice", [x, self.const("start", np.array([0], np.int64)),
                                  self.const("end", np.array([1], np.int64)),
                                  self.const("axis", np.array([axis], np.int64))], "first")
        body = self.op("Slice", [x, self.const("start", np.array([0], np.int64)),
                                 self.const("end", np.array([-1], np.int64)),
                                 self.const("axis", np.array([axis], np.int64))], "body")
        return self.op("Concat", [first, body], "shifted", axis=axis)

    def shift_left(self, x, axis):
        """out[i] = x[min(i + 1, n - 1)]."""
        last = self.op("Slice", [x, self.const("start", np.array([-1], np.int64)),
                                 self.const("end", np.array([2 ** 62], np.int64)),
                                 self.const("axis", np.array([axis], np.int64))], "last")
        body = self.op("Slice", [x, self.const("start", np.array([1], np.int64)),
                                 self.const("end", np.array([2 ** 62], np.int64)),
                                 self.const("axis", np.array([axis], np.int64))], "body")
        return self.op("Concat", [body, last], "shifted", axis=axis)


def image_dependent(graph, input_name):
    """Indices of the nodes whose value depends on the input (the rest, weights and their casts, are
    computed once and shared by every view)."""
    live, nodes = {input_name}, set()
    for k, n in enumerate(graph.node):  # ONNX graphs are topologically sorted
        if any(i in live for i in n.input):
            nodes.add(k)
            live.update(n.output)
    return nodes


def copy_network(b, graph, dependent, input_name, view_input, tag):
    """The image-dependent nodes again, reading view_input; returns {original output: this view's}."""
    rename = {input_name: view_input}
    for k, n in enumerate(graph.node):
        if k not in dependent:
            continue
        m = onnx.NodeProto()
        m.CopyFrom(n)
        m.name = f"{tag}/{n.name or n.op_type}"
        m.input[:] = [rename.get(i, i) for i in n.input]
        outs = []
        for o in n.output:
            rename[o] = f"{tag}/{o}"
            outs.append(rename[o])
        m.output[:] = outs
        b.nodes.append(m)
    return {o.name: rename[o.name] for o in graph.output}


def flow_view_back(b, cellprob, flow, view):
    """A view's (cellprob, flow) mapped back to the image's frame."""
    transpose, flip_h, flip_w = view
    for axis, flipped in ((2, flip_h), (3, flip_w)):
        if flipped:
            cellprob, flow = b.reverse(cellprob, axis), b.reverse(flow, axis)
    if flip_h or flip_w:  # the flipped axis's component points the other way in the image
        sign = np.array([-1.0 if flip_h else 1.0, -1.0 if flip_w else 1.0], np.float32).reshape(1, 2, 1, 1)
        flow = b.op("Mul", [flow, b.const("sign", sign)], "signed")
    if transpose:  # back to height x width, and the view's dy is the image's dx
        cellprob = b.op("Transpose", [cellprob], "untransposed", perm=[0, 1, 3, 2])
        flow = b.op("Transpose", [flow], "untransposed", perm=[0, 1, 3, 2])
        flow = b.op("Gather", [flow, b.const("swap", np.array([1, 0], np.int64))], "swapped", axis=1)
    return cellprob, flow


def ray_permutation(view, n_rays):
    """Index list p with image ray k = view ray p[k] (src/core/star.h's angle convention: ray k at
    angle 2 pi k / n, (dy, dx) = (sin, cos)). A view pixel direction (dy', dx') is the image direction
    after the transpose (swap) and then the flips (negate); so an image ray at angle a appears in the
    view at: transpose a -> pi/2 - a, flip_h a -> -a, flip_w a -> pi - a, applied in that order."""
    transpose, flip_h, flip_w = view
    perm = []
    for k in range(n_rays):
        a = k  # in units of 2 pi / n
        if transpose:
            a = n_rays // 4 - a
        if flip_h:
            a = -a
        if flip_w:
            a = n_rays // 2 - a
        perm.append(a % n_rays)
    return perm


def star_view_back(b, prob, dist, view, n_rays, grid):
    transpose, flip_h, flip_w = view
    for axis, flipped in ((2, flip_h), (3, flip_w)):
        if flipped:
            prob, dist = b.reverse(prob, axis), b.reverse(dist, axis)
    if transpose:
        prob = b.op("Transpose", [prob], "untransposed", perm=[0, 1, 3, 2])
        dist = b.op("Transpose", [dist], "untransposed", perm=[0, 1, 3, 2])
    perm = ray_permutation(view, n_rays)
    if perm != list(range(n_rays)):
        dist = b.op("Gather", [dist, b.const("rays", np.array(perm, np.int64))], "rays", axis=1)
    return prob, dist


def view_input(b, image, view, grid):
    """The image as a view sees it. For a star model with grid > 1, before a flip the image is shifted
    by grid - 1 pixels toward the end of that axis (edge-padded), so the flipped view's grid cells,
    which hold pixels 0, grid, 2 grid, ..., are the image's grid pixels in reverse order;
    star_view_back undoes the shift on the outputs' grid."""
    transpose, flip_h, flip_w = view
    shift = grid - 1  # flow models: grid 1, no shift
    x = image
    if transpose:
        x = b.op("Transpose", [x], "transposed", perm=[0, 1, 3, 2])
    for axis, flipped in ((2, flip_h), (3, flip_w)):
        if flipped:
            for _ in range(shift):
                x = b.shift_right(x, axis)
            x = b.reverse(x, axis)
    return x


def build(model, card, views):
    g = model.graph
    input_name = card["input"]["name"]
    out_names = [o["name"] for o in card["outputs"]]
    if [o.name for o in g.output] != out_names:
        raise ValueError(f"the model's outputs {[o.name for o in g.output]} are not the card's {out_names}")
    dependent = image_dependent(g, input_name)
    b = GraphBuilder()
    shared = [n for k, n in enumerate(g.node) if k not in dependent]
    kind = card["kind"]
    grid = card["star"]["grid"] if kind == "star" else 1
    n_rays = card["star"]["n_rays"] if kind == "star" else 0
    if kind == "star" and n_rays % 4:
        raise ValueError("star TTA needs a ray count divisible by 4 (90-degree views permute rays)")
    sums = None
    for i, view in enumerate(views):
        x = view_input(b, input_name, view, grid)
        outs = copy_network(b, g, dependent, input_name, x, f"view{i}")
        a, c = outs[out_names[0]], outs[out_names[1]]
        if kind == "flow":
            a, c = flow_view_back(b, a, c, view)
        else:
            a, c = star_view_back(b, a, c, view, n_rays, grid)
        sums = [a, c] if sums is None else [b.op("Add", [sums[0], a], "sum"), b.op("Add", [sums[1], c], "sum")]
    inv = b.const("inv_views", np.array(1.0 / len(views), np.float32))
    final = []
    for s, name in zip(sums, out_names):
        b.nodes.append(helper.make_node("Mul", [s, inv], [name], name=f"tta/mean_{name}"))
        final.append(name)
    graph = helper.make_graph(shared + b.nodes, g.name + "_tta", list(g.input), list(g.output),
                              list(g.initializer) + b.inits)
    out = helper.make_model(graph, opset_imports=list(model.opset_import), producer_name="celldrop-tta")
    out.ir_version = model.ir_version
    onnx.checker.check_model(out)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("card", type=Path, help="the source model's card (its .onnx beside it)")
    p.add_argument("--views", type=int, default=8, choices=sorted(VIEWS),
                   help="1 (identity, a check), 2 (+ left-right flip), 4 (flips), 8 (flips and transposes)")
    p.add_argument("--out", type=Path, required=True, help="path stem: writes <out>.onnx and <out>.json")
    args = p.parse_args(argv)

    card = json.loads(args.card.read_text())
    model = onnx.load(str(args.card.parent / card["onnx"]["file"]))
    tta = build(model, card, VIEWS[args.views])
    onnx_path = args.out.with_suffix(".onnx")
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(tta, str(onnx_path))
    blob = onnx_path.read_bytes()
    source_name = card["name"]
    card["name"] = args.out.name
    card["onnx"] = dict(card["onnx"], file=onnx_path.name, sha256=hashlib.sha256(blob).hexdigest(), bytes=len(blob))
    # The card's contract has no room of its own for it; `training` is free-form provenance.
    card["training"]["tta"] = {"source": source_name, "source_sha256": hashlib.sha256(
        (args.card.parent / json.loads(args.card.read_text())["onnx"]["file"]).read_bytes()).hexdigest(),
        "views": len(VIEWS[args.views]),
        "command": "/usr/bin/python3 models/train/tta.py " + " ".join(argv if argv is not None else __import__("sys").argv[1:])}
    args.out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"wrote {onnx_path} ({len(blob)} bytes, {len(VIEWS[args.views])} views) and {args.out.name}.json")


if __name__ == "__main__":
    main()
