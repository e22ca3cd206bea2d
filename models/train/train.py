#!/usr/bin/python3
"""CellDrop's training recipe: one command trains a nuclei model, exports it to ONNX and writes its
model card. Seeded and resumable (a stopped run continues from its last checkpoint).

  /usr/bin/python3 models/train/train.py --data ../shared/data/dsb2018-train --kind star \
      --modality fluorescence --name nuclei-star --out models --minutes 60

Targets come from the C++ core (libcelldrop_train.so, built by `bash scripts/build.sh native`).
Thresholds are chosen on the val split by a grid search on AP@0.5; the card records them, the
training diameter, the loss curve and the validation metrics."""
import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import augment  # noqa: E402
import data  # noqa: E402
import evaluate  # noqa: E402
import export  # noqa: E402
import targets  # noqa: E402
from model import UNet  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="folder with images/, labels/, manifest.csv")
    p.add_argument("--kind", choices=["star", "flow"], required=True)
    p.add_argument("--modality", default="fluorescence", help="manifest modality to train on")
    p.add_argument("--channels", type=int, default=1, help="input channels (1 gray, 3 RGB)")
    p.add_argument("--name", required=True, help="model name, e.g. nuclei-star")
    p.add_argument("--out", default="models", help="where the .onnx and .json go")
    p.add_argument("--work", default=None, help="checkpoints and logs (default build/train/<name>)")
    p.add_argument("--diameter", type=float, default=20.0, help="training object diameter, px")
    p.add_argument("--base", type=int, default=16, help="U-Net base filters")
    p.add_argument("--depth", type=int, default=3)
    p.add_argument("--max-width", type=int, default=0,
                   help="cap on a level's filters (widths double per level; 0: no cap)")
    p.add_argument("--n-rays", type=int, default=32)
    p.add_argument("--grid", type=int, default=2)
    p.add_argument("--crop", type=int, default=128)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--steps", type=int, default=100000, help="stop after this many steps ...")
    p.add_argument("--minutes", type=float, default=None,
                   help="... or after this many minutes (the learning-rate schedule then follows the clock)")
    p.add_argument("--val-every", type=int, default=500, help="validate and checkpoint every N steps (0: never)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", help="cpu or cuda: the recipe is the same")
    p.add_argument("--workers", type=int, default=0,
                   help="processes making batches (0: in the training process); a GPU needs several")
    p.add_argument("--init", default=None,
                   help="start from this checkpoint's weights (fine-tuning: a new optimizer and schedule)")
    p.add_argument("--weights", choices=["float32", "float16"], default="float32",
                   help="how the ONNX file stores the weights (float16: half the download, float32 compute)")
    p.add_argument("--no-finish", action="store_true",
                   help="train and checkpoint only; a later run with the same --work picks thresholds and exports")
    p.add_argument("--min-area", type=float, default=0.0,
                   help="card's thresholds.min_area: the pipeline removes objects under this many image px "
                        "(chosen on train images with val_analysis.py min-size; 0: every object kept)")
    p.add_argument("--max-images", type=int, default=0, help="use only the first N images (smoke tests)")
    return p.parse_args(argv)


def make_batch(samples, args, rng):
    xs, ys1, ys2 = [], [], []
    for _ in range(args.batch):
        s = samples[rng.integers(len(samples))]
        img, lab = augment.augment(s["image"], s["labels"], args.crop, rng)
        if args.kind == "star":
            t1, t2 = targets.star_targets(lab, args.n_rays, args.grid)
        else:
            t1, t2 = targets.flow_targets(lab)
        xs.append(img.transpose(2, 0, 1))
        ys1.append(t1)
        ys2.append(t2)
    return (torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys1)),
            torch.from_numpy(np.stack(ys2)))


class BatchStream(torch.utils.data.IterableDataset):
    """Endless random batches, made in DataLoader worker processes: augmentation and the C++ targets
    cost more than a step of this small network on a GPU. Each worker has its own seeded stream, and
    the DataLoader takes batches from the workers in turn, so a run is repeatable for a given count."""

    def __init__(self, samples, args, seed):
        self.samples, self.args, self.seed = samples, args, seed

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng(self.seed + [info.id if info else 0])
        while True:
            yield make_batch(self.samples, self.args, rng)


def batches(samples, args, seed):
    if args.workers == 0:
        rng = np.random.default_rng(seed)
        while True:
            yield make_batch(samples, args, rng)
    yield from torch.utils.data.DataLoader(BatchStream(samples, args, seed), batch_size=None,
                                           num_workers=args.workers, prefetch_factor=4)


def loss_fn(kind, out, y1, y2):
    a, b = out
    if kind == "star":
        # StarDist's loss: BCE on the object probability, L1 on distances weighted by it (weight 0.2).
        bce = F.binary_cross_entropy(a.clamp(1e-6, 1 - 1e-6), y1)
        l1 = (y1 * (b - y2).abs()).mean() / y1.mean().clamp_min(1e-3)
        return bce + 0.2 * l1
    # Cellpose's: BCE on the cell probability logit, MSE on the (scaled) flows.
    return F.binary_cross_entropy_with_logits(a, y1) + F.mse_loss(b, y2)


def main(argv=None):
    args = parse_args(argv)
    root = Path(__file__).resolve().parents[2]
    work = Path(args.work or root / "build" / "train" / args.name)
    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    grid = args.grid if args.kind == "star" else 1

    def load(split):
        return data.load_dataset(args.data, args.modality, split, args.channels, args.diameter, args.workers,
                                 args.max_images)

    model = UNet(args.kind, args.channels, args.base, args.depth, args.n_rays, grid, args.max_width).to(args.device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    ckpt_path, log_path = work / "checkpoint.pt", work / "loss.json"
    # The command that trained the model (the first run's; a finishing run only exports) goes in the card.
    step, log = 0, {"steps": [], "loss": [], "val_steps": [], "val_ap50": []}
    command = list(argv) if argv is not None else sys.argv[1:]
    # step0: where this run's schedule starts (a fine-tuning run continues its parent's step count and
    # loss curve); parent: how the weights it started from were trained, for the card.
    seed, finished, step0, parent = [args.seed], False, 0, None
    if ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location="cpu")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, log, command = ck["step"], ck["log"], ck.get("command", command)
        step0, parent = ck.get("step0", 0), ck.get("parent")
        finished = ck.get("finished", False)  # its step budget or clock ran out: only export is left
        seed = [args.seed, step]
        print(f"resumed at step {step}", flush=True)
    elif args.init:
        if not Path(args.init).is_file():
            sys.exit(f"train.py: --init {args.init}: no such checkpoint (a run's <work>/checkpoint.pt)")
        ck = torch.load(args.init, map_location="cpu")
        try:
            model.load_state_dict(ck["model"])
        except (KeyError, RuntimeError) as e:
            sys.exit(f"train.py: --init {args.init} does not hold weights for this network "
                     f"(--kind/--base/--depth/--max-width/--grid/--channels must match its run): {e}")
        step = step0 = ck["step"]
        log = ck["log"]
        parent = {"command": ck.get("command"), "steps": ck["step"], "parent": ck.get("parent")}
        seed = [args.seed, step]
        print(f"starting from {args.init} (step {step})", flush=True)
    done = finished or step - step0 >= args.steps

    need_val = not args.no_finish or (args.val_every > 0 and not done)
    train = load("train") if not done else None
    val = load("val") if need_val else None
    if (not done and not train) or (need_val and not val):
        sys.exit(f"train.py: no '{args.modality}' images in both train and val splits of {args.data}")
    print(f"train {len(train) if train else '-'} images, val {len(val) if val else '-'}, "
          f"diameter {args.diameter} px", flush=True)

    def save(finished=False):
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "log": log,
                    "command": command, "finished": finished, "step0": step0, "parent": parent}, ckpt_path)
        json.dump(log, open(log_path, "w"))

    start, running = time.time(), []
    stream = batches(train, args, seed)
    while not done:
        # Cosine decay keeps late updates small without a schedule to tune. Over a time budget the
        # schedule follows whichever ends first, the steps or the clock, so a run always ends decayed.
        progress = (step - step0) / args.steps
        if args.minutes is not None:
            progress = max(progress, (time.time() - start) / (args.minutes * 60))
        if progress >= 1:
            break
        model.train()
        x, y1, y2 = (t.to(args.device, non_blocking=True) for t in next(stream))
        for g in opt.param_groups:
            g["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * progress))
        loss = loss_fn(args.kind, model(x), y1, y2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        running.append(loss.item())
        if step % 50 == 0:
            log["steps"].append(step)
            log["loss"].append(float(np.mean(running)))
            print(f"step {step} loss {log['loss'][-1]:.4f} ({time.time() - start:.0f} s)", flush=True)
            running = []
        if args.val_every and step % args.val_every == 0:
            ap = evaluate.evaluate(model, val, args, grid, evaluate.default_thresholds(args.kind))["ap50"]
            log["val_steps"].append(step)
            log["val_ap50"].append(ap)
            print(f"step {step} val AP@0.5 {ap:.3f}", flush=True)
            save()
    if running:  # the steps since the last logged one, so the curve ends where training did
        log["steps"].append(step)
        log["loss"].append(float(np.mean(running)))
    save(finished=True)
    if args.no_finish:
        print(f"trained {step} steps; checkpoint {ckpt_path}", flush=True)
        return

    thresholds, metrics = evaluate.choose_thresholds(model, val, args, grid)
    if args.min_area > 0:  # applied after the pipeline's resize back to the image: train.py's check ignores it
        thresholds["min_area"] = args.min_area
    print(f"thresholds {thresholds} -> val {metrics}", flush=True)
    export.export_model(model, args, grid, thresholds, metrics, log, step, Path(args.out), command,
                        parse_args(command), parent)


if __name__ == "__main__":
    main()
