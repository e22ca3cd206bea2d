"""Where a model's errors are, and what post-hoc changes to its masks would do, from predicted label
images (`celldrop segment` output) and their ground truth. Scoring is the core's (libcelldrop_train.so's
matching, as `celldrop eval`): AP summed over images, DSB the mean over images of the mean AP over
IoU 0.50 ... 0.95. models/README.md ("Without retraining") has what it found.

    /usr/bin/python3 models/train/val_analysis.py errors   --gt GT --pred PRED [--runs PRED.jsonl]
    /usr/bin/python3 models/train/val_analysis.py boundary --gt GT --pred PRED
    /usr/bin/python3 models/train/val_analysis.py min-size --gt GT --pred PRED [--areas 0,15,25,40,60]
    /usr/bin/python3 models/train/val_analysis.py skip-tolerance --gt GT --pred PRED --runs PRED.jsonl \\
        --first-pass PRED1 [--diameter 20] [--tolerances 0.05,0.1,0.15,0.2,0.25]

errors: per image (worst first) the matches at IoU 0.5 and each miss and false object sorted into a
cause; with --runs (the segment command's JSON lines) also the automatic diameter it estimated.
boundary: every predicted mask grown or shrunk by 1 px: a systematic boundary bias would show as a gain.
min-size: predicted objects under N image pixels removed.
skip-tolerance: the automatic diameter skips its second pass when the estimated scale (card diameter /
estimate) is within 5% of 1; this replays other tolerances exactly from two runs: the automatic one
(PRED, --runs) and one at --diameter equal to the card's (PRED1: scale 1, the first pass itself).
"""
import argparse
import json
import os
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

import native

TAUS = [0.5 + 0.05 * i for i in range(10)]


def load(path):
    return np.asarray(Image.open(path)).astype(np.uint32)


def counts(gt, pred):
    """(tp, fp, fn) at each IoU threshold of TAUS."""
    return [native.match(gt, pred, t) for t in TAUS]


def summary(per_image):
    total = np.zeros((len(TAUS), 3), np.int64)
    dsb = []
    for c in per_image:
        c = np.array(c)
        total += c
        dsb.append(np.mean(c[:, 0] / np.maximum(c.sum(1), 1)))
    ap = total[:, 0] / np.maximum(total.sum(1), 1)
    tp, fp, fn = total[0]
    return {"ap50": ap[0], "ap75": ap[5], "f1_50": 2 * tp / max(2 * tp + fp + fn, 1), "dsb": float(np.mean(dsb)),
            "tp": int(tp), "fp": int(fp), "fn": int(fn)}


def line(name, s):
    return (f"{name:36s} AP@0.5 {s['ap50']:.4f}  AP@0.75 {s['ap75']:.4f}  F1@0.5 {s['f1_50']:.4f}  "
            f"DSB {s['dsb']:.4f}  (TP {s['tp']} FP {s['fp']} FN {s['fn']})")


def grow(labels, px=1):
    """Each object grown by px pixels into the background (3x3 neighbourhood per step)."""
    out = labels.copy()
    for _ in range(px):
        near = ndi.grey_dilation(out, size=(3, 3))
        free = (out == 0) & (near > 0)
        out[free] = near[free]
    return out


def shrink(labels, px=1):
    """Each object's edge pixels (a 3x3 neighbour of another value) removed, px times."""
    out = labels.copy()
    for _ in range(px):
        edge = (ndi.grey_dilation(out, size=(3, 3)) != out) | (ndi.grey_erosion(out, size=(3, 3)) != out)
        out[edge & (out > 0)] = 0
    return out


def without_small(labels, min_area):
    areas = np.bincount(labels.ravel())
    small = np.nonzero(areas < min_area)[0]
    out = labels.copy()
    out[np.isin(out, small[small > 0])] = 0
    return out


def median_diameter(labels):
    areas = np.bincount(labels.ravel())[1:]
    areas = areas[areas > 0]
    return float(np.median(2 * np.sqrt(areas / np.pi))) if len(areas) else 0.0


def causes(gt, pred):
    """At IoU 0.5, why each ground-truth nucleus is missed and each prediction is false:
    missed   - predictions cover under half of it;
    merged   - the prediction covering most of it also covers 30% or more of another nucleus;
    outline  - otherwise (found, but outlined too badly to reach IoU 0.5);
    spurious - a false prediction lying mostly (over half) on background;
    split    - a false prediction on a nucleus that two or more predictions each cover 20% of;
    shape    - otherwise."""
    g, p = gt.ravel().astype(np.int64), pred.ravel().astype(np.int64)
    ng, npred = int(g.max()) + 1, int(p.max()) + 1
    inter = np.bincount(g * npred + p, minlength=ng * npred).reshape(ng, npred)
    ga, pa = inter.sum(1), inter.sum(0)
    iou = inter / np.maximum(ga[:, None] + pa[None, :] - inter, 1)
    iou[0, :] = iou[:, 0] = 0
    matched = iou > 0.5  # at IoU > 0.5 a match is one-to-one by itself
    c = dict(missed=0, merged=0, outline=0, spurious=0, split=0, shape=0)
    for k in range(1, ng):
        if ga[k] == 0 or matched[k].any():
            continue
        if inter[k, 1:].sum() < 0.5 * ga[k]:
            c["missed"] += 1
            continue
        q = 1 + int(np.argmax(inter[k, 1:]))
        c["merged" if (inter[1:, q] >= 0.3 * ga[1:]).sum() >= 2 else "outline"] += 1
    for q in range(1, npred):
        if pa[q] == 0 or matched[:, q].any():
            continue
        if inter[1:, q].sum() < 0.5 * pa[q]:
            c["spurious"] += 1
            continue
        k = 1 + int(np.argmax(inter[1:, q]))
        c["split" if (inter[k, 1:] >= 0.2 * ga[k]).sum() >= 2 else "shape"] += 1
    return c


def read_runs(path):
    runs = {}
    for text in Path(path).read_text().splitlines():
        r = json.loads(text)
        if "error" not in r:
            runs[Path(r["file"]).stem] = r
    return runs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["errors", "boundary", "min-size", "skip-tolerance"])
    ap.add_argument("--gt", type=Path, required=True)
    ap.add_argument("--pred", type=Path, required=True)
    ap.add_argument("--runs", type=Path, help="the segment command's JSON lines for --pred")
    ap.add_argument("--first-pass", type=Path, help="skip-tolerance: predictions at --diameter (scale 1)")
    ap.add_argument("--diameter", type=float, default=20.0, help="skip-tolerance: the card's diameter")
    ap.add_argument("--areas", default="0,15,25,40,60")
    ap.add_argument("--tolerances", default="0.05,0.1,0.15,0.2,0.25")
    a = ap.parse_args(argv)

    names = sorted(f for f in os.listdir(a.gt) if (a.pred / f).exists())
    if not names:
        raise SystemExit(f"no label image in {a.pred} has a namesake in {a.gt}")
    gts = {n: load(a.gt / n) for n in names}
    preds = {n: load(a.pred / n) for n in names}

    if a.what == "errors":
        runs = read_runs(a.runs) if a.runs else {}
        rows, total = [], {}
        for n in names:
            c = counts(gts[n], preds[n])
            why = causes(gts[n], preds[n])
            for k, v in why.items():
                total[k] = total.get(k, 0) + v
            tp, fp, fn = c[0]
            run = runs.get(Path(n).stem, {})
            rows.append((fp + fn, f"{n[:12]} {gts[n].shape[1]}x{gts[n].shape[0]} nuclei {len(np.unique(gts[n])) - 1:4d} "
                         f"TP {tp:4d} FP {fp:3d} FN {fn:3d} AP@0.5 {tp / max(tp + fp + fn, 1):.3f} "
                         f"DSB {summary([c])['dsb']:.3f} true diameter {median_diameter(gts[n]):5.1f}"
                         + (f" estimated {run['diameter']:5.1f} scale {run['scale']:.3f}" if run else "")
                         + " " + " ".join(f"{k} {v}" for k, v in why.items() if v)))
        for _, text in sorted(rows, key=lambda r: -r[0]):
            print(text)
        print(line("all images", summary([counts(gts[n], preds[n]) for n in names])))
        print("misses:", ", ".join(f"{k} {total[k]}" for k in ("missed", "merged", "outline")),
              "| false objects:", ", ".join(f"{k} {total[k]}" for k in ("spurious", "split", "shape")))
    elif a.what == "boundary":
        for name, f in [("as predicted", lambda x: x), ("grown 1 px", grow), ("shrunk 1 px", shrink)]:
            print(line(name, summary([counts(gts[n], f(preds[n])) for n in names])))
    elif a.what == "min-size":
        for area in (int(x) for x in a.areas.split(",")):
            print(line(f"objects under {area} px removed", summary([counts(gts[n], without_small(preds[n], area)) for n in names])))
    else:
        if not (a.runs and a.first_pass):
            raise SystemExit("skip-tolerance needs --runs (the automatic run's JSON lines) and --first-pass DIR")
        runs = read_runs(a.runs)
        auto = {n: counts(gts[n], preds[n]) for n in names}
        first = {n: counts(gts[n], load(a.first_pass / n)) for n in names}
        for tol in (float(x) for x in a.tolerances.split(",")):
            one = {n for n in names if abs(a.diameter / runs[Path(n).stem]["diameter"] - 1) <= tol}
            print(line(f"skip within {tol:.0%} ({len(one)}/{len(names)} one pass)",
                       summary([first[n] if n in one else auto[n] for n in names])))


if __name__ == "__main__":
    main()
