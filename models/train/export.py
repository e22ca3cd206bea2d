"""ONNX export and the model card: the JSON that tells the app how to feed the network and read its
outputs, with the thresholds, training provenance, validation metrics and the file's sha256."""
import hashlib
import json
import shutil
from pathlib import Path

import torch

from fold_upsample import fold_upsample_file
from model import FLOW_SCALE

OPSET = 13


def store_weights_float16(onnx_path, min_elements=64):
    """Halves the download: each float32 weight tensor is stored as float16 and cast back to float32
    where the graph starts, so every kernel on every ONNX Runtime backend still computes in float32
    (WASM has no float16 convolutions). Small tensors (e.g. Resize scales) stay as they are."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    m = onnx.load(str(onnx_path))
    g = m.graph
    inits, casts = [], []
    for t in g.initializer:
        a = numpy_helper.to_array(t)
        if t.data_type != TensorProto.FLOAT or a.size < min_elements:
            inits.append(t)
            continue
        if np.abs(a).max() > 60000:
            raise ValueError(f"weight {t.name} exceeds float16's range")
        half = numpy_helper.from_array(a.astype(np.float16), t.name + "_f16")
        inits.append(half)
        casts.append(helper.make_node("Cast", [half.name], [t.name], to=TensorProto.FLOAT, name=t.name + "_cast"))
    nodes = casts + list(g.node)
    del g.initializer[:]
    g.initializer.extend(inits)
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(m)
    onnx.save(m, str(onnx_path))


def command_line(argv):
    return " ".join(["/usr/bin/python3", "models/train/train.py"] + list(argv))


def lineage(parent):
    """The chain of runs a fine-tuned model's weights come from, as command lines."""
    return {"command": command_line(parent["command"]), "steps": parent["steps"],
            **({"init_from": lineage(parent["parent"])} if parent.get("parent") else {})}


def export_model(model, args, grid, thresholds, metrics, log, steps, out_dir, command, trained, parent=None):
    """`command` is the argv of the run that trained the weights (parsed, `trained`), which may differ
    from this one's (`args`): a run on a GPU machine with --no-finish is exported elsewhere."""
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / f"{args.name}.onnx"
    model = model.cpu().eval()
    dummy = torch.zeros(1, args.channels, 64, 64)
    names = ["prob", "dist"] if args.kind == "star" else ["cellprob", "flow"]
    dyn = {"image": {2: "height", 3: "width"}}
    dyn.update({n: {2: "out_height", 3: "out_width"} for n in names})
    torch.onnx.export(model, dummy, str(onnx_path), opset_version=OPSET, input_names=["image"],
                      output_names=names, dynamic_axes=dyn)
    if args.weights == "float16":
        store_weights_float16(onnx_path)
    # The decoder's upsampling folded into the convolutions that read it: the same outputs to float
    # rounding, a fifth less convolution work on ONNX Runtime Web's WASM kernels (fold_upsample.py).
    fold_upsample_file(onnx_path, onnx_path)
    blob = onnx_path.read_bytes()
    loss_name = f"{args.name}.loss.json"
    (out_dir / loss_name).write_text(json.dumps(log))

    card = {
        "name": args.name,
        "kind": args.kind,
        "format": 1,
        "input": {"name": "image", "channels": args.channels, "layout": "NCHW", "dtype": "float32",
                  "divisor": 2 ** args.depth},
        "normalization": {"percentile_low": 1.0, "percentile_high": 99.8},
        "diameter": args.diameter,
        "outputs": ([{"name": "prob", "channels": 1, "grid": grid},
                     {"name": "dist", "channels": args.n_rays, "grid": grid}] if args.kind == "star" else
                    [{"name": "cellprob", "channels": 1, "grid": 1},
                     {"name": "flow", "channels": 2, "grid": 1}]),
        "thresholds": thresholds,
        "training": {
            "data": f"DSB2018 stage-1 training set (BBBC038, CC0), modality '{args.modality}', split 'train'",
            "modality": args.modality,
            "recipe": "models/train/train.py",
            "command": command_line(command),
            "device": trained.device, "steps": steps, "seed": trained.seed, "crop": trained.crop,
            "batch": trained.batch, "lr": trained.lr,
            "base_filters": args.base, "depth": args.depth,
            **({"max_width": args.max_width} if args.max_width else {}),
            "parameters": sum(p.numel() for p in model.parameters()),
            "loss_curve": loss_name,
        },
        "metrics": {"val": metrics,
                    "note": "val split at the ground truth's median diameter (train.py's own check); "
                            "models/README.md has the numbers of the full pipeline"},
        "onnx": {"file": onnx_path.name, "sha256": hashlib.sha256(blob).hexdigest(), "bytes": len(blob),
                 "opset": OPSET, "weights": args.weights},
    }
    if parent:  # fine-tuned: how the starting weights were trained
        card["training"]["init_from"] = lineage(parent)
    if args.kind == "star":
        card["star"] = {"n_rays": args.n_rays, "grid": grid}
    else:
        card["flow"] = {"flow_scale": FLOW_SCALE, "reference_niter": 200}
    (out_dir / f"{args.name}.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"wrote {onnx_path} ({len(blob)} bytes) and {args.name}.json", flush=True)
    return card
