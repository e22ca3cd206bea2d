"""Validation: run the network on whole val images (at the training diameter), post-process with the
C++ core, score with its matching. Thresholds are chosen here by a grid search on AP@0.5."""
import numpy as np
import torch

import native
from model import FLOW_SCALE

THRESHOLD_TAUS = [0.5 + 0.05 * i for i in range(10)]


def default_thresholds(kind):
    return {"prob": 0.5, "nms": 0.4} if kind == "star" else {"cellprob": 0.0, "flow": 0.4}


def predict(model, img, args):
    """Network outputs for one [h, w, c] image, padded to a multiple of 2**depth (reflect)."""
    h, w, _ = img.shape
    m = 2 ** args.depth
    ph, pw = (-h) % m, (-w) % m
    x = np.pad(img, ((0, ph), (0, pw), (0, 0)), mode="reflect").transpose(2, 0, 1)[None]
    model.eval()
    with torch.no_grad():
        a, b = model(torch.from_numpy(np.ascontiguousarray(x)).to(args.device))
    return a[0].cpu().numpy(), b[0].cpu().numpy()


def postprocess(kind, out, shape, grid, th, niter=200):
    a, b = out
    h, w = shape
    if kind == "star":
        gh, gw = native.grid_size(h, grid), native.grid_size(w, grid)
        prob = a[0, :gh, :gw]
        dist = b[:, :gh, :gw].transpose(1, 2, 0)
        return native.star_postprocess(prob, dist, grid, h, w, th["prob"], th["nms"])
    return native.flow_postprocess(a[0, :h, :w], b[:, :h, :w], th["cellprob"], th["flow"], niter, FLOW_SCALE)


def score(pairs):
    """AP@0.5 summed over images (StarDist's accuracy), AP@0.75, F1@0.5 and the DSB score."""
    counts = {t: np.zeros(3, int) for t in THRESHOLD_TAUS}
    dsb = []
    for gt, pred in pairs:
        per = []
        for t in THRESHOLD_TAUS:
            c = np.array(native.match(gt, pred, t))
            counts[t] += c
            per.append(c[0] / max(c.sum(), 1))
        dsb.append(np.mean(per))

    def ap(t):
        tp, fp, fn = counts[t]
        return float(tp / max(tp + fp + fn, 1))
    tp, fp, fn = counts[0.5]
    return {"ap50": ap(0.5), "ap75": ap(THRESHOLD_TAUS[5]),
            "f1_50": float(2 * tp / max(2 * tp + fp + fn, 1)), "dsb": float(np.mean(dsb))}


def evaluate(model, samples, args, grid, th, outputs=None):
    outputs = outputs or [predict(model, s["image"], args) for s in samples]
    return score([(s["labels"], postprocess(args.kind, o, s["labels"].shape, grid, th))
                  for s, o in zip(samples, outputs)])


def choose_thresholds(model, samples, args, grid):
    outputs = [predict(model, s["image"], args) for s in samples]
    if args.kind == "star":
        grid_th = [{"prob": p, "nms": n} for p in (0.3, 0.4, 0.5, 0.6, 0.7) for n in (0.3, 0.4, 0.5)]
    else:
        grid_th = [{"cellprob": c, "flow": f} for c in (-1.0, -0.5, 0.0, 0.5) for f in (0.4, 0.6, 0.8)]
    best = None
    for th in grid_th:
        m = evaluate(model, samples, args, grid, th, outputs)
        if best is None or m["ap50"] > best[1]["ap50"]:
            best = (th, m)
    return best
