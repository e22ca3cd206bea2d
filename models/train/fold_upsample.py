"""Folds each nearest 2x upsampling into the 3x3 convolution that reads it: an exact rewrite of the
exported graph that saves the convolution 5/9 of its work on the upsampled channels.

The U-Net's decoder computes Conv3x3(Concat(Upsample2x(low), skip)). Nearest upsampling repeats each
pixel in a 2x2 block, so each output pixel of a given parity (row even/odd, column even/odd) sees
the low-resolution input through only 2x2 distinct pixels: the 3x3 kernel collapses to four 2x2
kernels, one per parity ("phase"), whose taps are sums of the original taps. So the graph becomes

    Relu(DepthToSpace(Concat(Conv2x2_p(low) for the 4 phases)) + Conv3x3(skip))

with 4 * 4 = 16 multiply-adds per low-resolution pixel and channel instead of 4 * 9 = 36, no
upsampled tensor and no concatenation at full resolution. Zero padding is preserved: a phase's
kernel reads one row/column past the low-resolution edge exactly where the 3x3 kernel read the
upsampled image's padding.

The weights stay as the file stores them (float16, cast where the graph starts): the phase kernels
are computed in the graph from the cast float32 weights (a MatMul by a 0/1 matrix, then slices),
which ONNX Runtime folds into constants when it creates the session, so nothing of it runs per
inference and the download does not grow.

    /usr/bin/python3 models/train/fold_upsample.py IN.onnx OUT.onnx
    /usr/bin/python3 models/train/fold_upsample.py --card models/NAME.json   (a shipped model, in place)

export.py applies it to every export. Why it pays: ONNX Runtime Web's WASM convolutions run 4-5x
slower than onnxruntime-node's, and the folded graph cuts their work by about a fifth (bench/README.md).
A graph already folded has no such chain left, so folding again changes nothing.
"""
import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# Tap ky (0..2) of the 3x3 kernel, for an output row of parity p, reads low-resolution row offset
# a (0..1) of the phase kernel, whose rows start one above the output's low-resolution row for an
# even output row (p = 0: pad 1 above, 0 below) and at it for an odd one (p = 1: pad 0 above, 1 below).
TAP_TO_PHASE_ROW = {0: (0, 1, 1), 1: (0, 0, 1)}
PAD_BEFORE = {0: 1, 1: 0}


def phase_matrix():
    """[9, 16] 0/1 matrix: column phase * 4 + a * 2 + b sums the 3x3 taps (ky, kx) that land on
    tap (a, b) of that phase's 2x2 kernel; phase = py * 2 + px (DepthToSpace DCR order)."""
    m = np.zeros((9, 16), np.float32)
    for py in (0, 1):
        for px in (0, 1):
            for ky in range(3):
                for kx in range(3):
                    a, b = TAP_TO_PHASE_ROW[py][ky], TAP_TO_PHASE_ROW[px][kx]
                    m[ky * 3 + kx, (py * 2 + px) * 4 + a * 2 + b] = 1.0
    return m


def _attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _is_nearest_2x(node, consts):
    if node.op_type != "Resize":
        return False
    a = _attrs(node)
    if a.get("mode", b"nearest") != b"nearest":
        return False
    # With an integer factor of 2, 'asymmetric' + 'floor' maps output i to input i // 2: plain
    # pixel repetition. Other modes shift the sampling grid and are not what the fold assumes.
    if a.get("coordinate_transformation_mode", b"half_pixel") != b"asymmetric" or a.get("nearest_mode", b"round_prefer_floor") != b"floor":
        return False
    scales = consts.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    return scales is not None and list(scales) == [1.0, 1.0, 2.0, 2.0] and (len(node.input) < 4 or not node.input[3])


def _is_plain_3x3(conv, consts):
    a = _attrs(conv)
    return (conv.op_type == "Conv" and list(a.get("kernel_shape", [])) == [3, 3] and list(a.get("pads", [0] * 4)) == [1, 1, 1, 1]
            and list(a.get("strides", [1, 1])) == [1, 1] and list(a.get("dilations", [1, 1])) == [1, 1]
            and a.get("group", 1) == 1 and a.get("auto_pad", b"NOTSET") == b"NOTSET")


def fold_upsample(model):
    """Returns (a new model with every Resize(nearest 2x) -> Concat(axis 1, upsampled first) -> Conv3x3
    chain folded, the number folded); other nodes are kept as they are. A graph without such a chain
    (a network with no decoder level) comes back unchanged with 0."""
    g = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    for n in g.node:
        if n.op_type == "Constant":
            consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    consumers = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    producer = {o: n for n in g.node for o in n.output}
    shapes = {}
    inferred = onnx.shape_inference.infer_shapes(model)
    for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.initializer):
        if hasattr(vi, "type"):
            shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim]
        else:
            shapes[vi.name] = list(vi.dims)

    matrix_name = "fold_phase_matrix"
    new_nodes, removed, folds = [], set(), 0
    plan = {}  # conv node name -> the nodes that replace it
    for resize in g.node:
        if not _is_nearest_2x(resize, consts):
            continue
        users = consumers.get(resize.output[0], [])
        if len(users) != 1 or users[0].op_type != "Concat" or _attrs(users[0]).get("axis") != 1:
            continue
        concat = users[0]
        if len(concat.input) != 2 or concat.input[0] != resize.output[0]:
            continue
        conv_users = consumers.get(concat.output[0], [])
        if len(conv_users) != 1 or not _is_plain_3x3(conv_users[0], consts):
            continue
        conv = conv_users[0]
        low, skip = resize.input[0], concat.input[1]
        c_up = shapes.get(low, [None] * 4)[1]
        w_shape = shapes.get(conv.input[1]) or list(consts.get(conv.input[1], np.zeros(0)).shape)
        if not c_up or len(w_shape) != 4:
            raise ValueError(f"fold_upsample: channel counts unknown at {conv.name}; run shape inference on the export")
        c_out, c_in = w_shape[0], w_shape[1]
        p = f"fold{folds}"  # short: these names are stored in the file, several times each
        W = conv.input[1]
        nodes = [
            # The weights as the graph has them (the cast of the float16 initializer), split into the
            # part that reads the upsampled channels and the part that reads the skip connection.
            helper.make_node("Split", [W], [f"{p}/w_up", f"{p}/w_skip"], axis=1, split=[c_up, c_in - c_up], name=f"{p}/split_w")
            if model.opset_import[0].version < 13 else
            helper.make_node("Split", [W, f"{p}/split_sizes"], [f"{p}/w_up", f"{p}/w_skip"], axis=1, name=f"{p}/split_w"),
            helper.make_node("Reshape", [f"{p}/w_up", f"{p}/taps_shape"], [f"{p}/w_taps"], name=f"{p}/taps"),
            helper.make_node("MatMul", [f"{p}/w_taps", matrix_name], [f"{p}/w_phases"], name=f"{p}/phases"),
        ]
        new_inits = [numpy_helper.from_array(np.array([c_up, c_in - c_up], np.int64), f"{p}/split_sizes"),
                     numpy_helper.from_array(np.array([c_out * c_up, 9], np.int64), f"{p}/taps_shape"),
                     numpy_helper.from_array(np.array([c_out, c_up, 2, 2], np.int64), f"{p}/kernel_shape")]
        phase_outputs = []
        for phase in range(4):
            py, px = divmod(phase, 2)
            new_inits += [numpy_helper.from_array(np.array([phase * 4], np.int64), f"{p}/k{phase}_start"),
                          numpy_helper.from_array(np.array([phase * 4 + 4], np.int64), f"{p}/k{phase}_end")]
            one = f"{p}/axis1"
            nodes += [
                helper.make_node("Slice", [f"{p}/w_phases", f"{p}/k{phase}_start", f"{p}/k{phase}_end", one],
                                 [f"{p}/k{phase}_flat"], name=f"{p}/slice{phase}"),
                helper.make_node("Reshape", [f"{p}/k{phase}_flat", f"{p}/kernel_shape"], [f"{p}/k{phase}"], name=f"{p}/kernel{phase}"),
                helper.make_node("Conv", [low, f"{p}/k{phase}"], [f"{p}/y{phase}"], kernel_shape=[2, 2],
                                 pads=[PAD_BEFORE[py], PAD_BEFORE[px], 1 - PAD_BEFORE[py], 1 - PAD_BEFORE[px]],
                                 name=f"{p}/conv{phase}"),
            ]
            phase_outputs.append(f"{p}/y{phase}")
        new_inits.append(numpy_helper.from_array(np.array([1], np.int64), f"{p}/axis1"))
        skip_inputs = [skip, f"{p}/w_skip"] + ([conv.input[2]] if len(conv.input) > 2 and conv.input[2] else [])
        nodes += [
            helper.make_node("Concat", phase_outputs, [f"{p}/phases_y"], axis=1, name=f"{p}/concat"),
            helper.make_node("DepthToSpace", [f"{p}/phases_y"], [f"{p}/up_y"], blocksize=2, mode="DCR", name=f"{p}/interleave"),
            helper.make_node("Conv", skip_inputs, [f"{p}/skip_y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name=f"{p}/skip"),
            helper.make_node("Add", [f"{p}/skip_y", f"{p}/up_y"], [conv.output[0]], name=f"{p}/sum"),
        ]
        plan[conv.name] = (nodes, new_inits)
        removed |= {resize.name, concat.name}
        folds += 1
    if folds == 0:
        return model, 0

    out = onnx.ModelProto()
    out.CopyFrom(model)
    del out.graph.node[:]
    inits = [numpy_helper.from_array(phase_matrix(), matrix_name)]
    for n in g.node:
        if n.name in removed:
            continue
        if n.name in plan:
            nodes, extra = plan[n.name]
            out.graph.node.extend(nodes)
            inits += extra
        else:
            out.graph.node.append(n)
    out.graph.initializer.extend(inits)
    # The Resize scales' Constant nodes may now be unused: drop what nothing reads.
    used = {i for n in out.graph.node for i in n.input} | {o.name for o in out.graph.output}
    kept = [n for n in out.graph.node if n.op_type != "Constant" or n.output[0] in used]
    del out.graph.node[:]
    out.graph.node.extend(kept)
    onnx.checker.check_model(out)
    return out, folds


def fold_upsample_file(path_in, path_out):
    model, folds = fold_upsample(onnx.load(str(path_in)))
    if folds:
        onnx.save(model, str(path_out))
    elif Path(path_in).resolve() != Path(path_out).resolve():
        shutil.copyfile(path_in, path_out)
    return folds


def refold_shipped(card_path):
    """Folds a shipped model in place and brings its card's sha256 and size up to date (the rest of
    the card, its metrics included, still holds: the outputs are the same to float rounding)."""
    card_path = Path(card_path)
    card = json.loads(card_path.read_text())
    onnx_path = card_path.parent / card["onnx"]["file"]
    folds = fold_upsample_file(onnx_path, onnx_path)
    blob = onnx_path.read_bytes()
    card["onnx"]["sha256"] = hashlib.sha256(blob).hexdigest()
    card["onnx"]["bytes"] = len(blob)
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return folds


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "--card":
        n = refold_shipped(args[1])
        print(f"fold_upsample: {n} upsampling(s) folded in the model of {args[1]}; card updated")
    elif len(args) == 2:
        n = fold_upsample_file(args[0], args[1])
        print(f"fold_upsample: {n} upsampling(s) folded into their convolutions -> {args[1]}")
    else:
        sys.exit("usage: fold_upsample.py IN.onnx OUT.onnx | fold_upsample.py --card models/NAME.json")
