#!/usr/bin/python3
"""Makes the figures of the lesson "Is the segmentation right?" at site-assembly time.

    /usr/bin/python3 scripts/lesson-scoring.py SITE_DIR

The app's sample (seed 1, with its exact ground truth) is segmented by the CLI with the model and
backend the app starts with, and scored by the CLI's `eval` (the core's metrics). This script pairs
the objects again only to colour them, and stops if its pairing disagrees with the core's counts, so
the pictures, the numbers in the text and the app always tell the same story. Needs numpy and Pillow.
"""
import json
import pathlib
import shutil
import tempfile

import numpy as np
from PIL import Image

from lesson_facts import fill_facts, lesson_dirs  # beside this script
from lesson_sample import fail, make_sample, outline, read_image, run_cli, stretch

LESSON = "lessons/scoring"
MODEL = "nuclei-star"  # the app's first model, on the page's backend
WHO = "lesson-scoring"


def overlaps(truth, pred):
    """IoU of every overlapping (true id, predicted id) pair, and each object's area."""
    both = (truth > 0) & (pred > 0)
    pairs, inter = np.unique(np.stack([truth[both], pred[both]]), axis=1, return_counts=True)
    t_area = np.bincount(truth.ravel())
    p_area = np.bincount(pred.ravel())
    result = {}
    for (t, p), n in zip(pairs.T.tolist(), inter.tolist()):
        result[(t, p)] = (n / (t_area[t] + p_area[p] - n), n, int(t_area[t] + p_area[p] - n))
    return result


def match(truth, pred, iou_min):
    """Pairs at IoU above iou_min, as the core counts them (above 0.5 each object has at most one
    partner): {true id: (pred id, iou, shared px, union px)}."""
    return {t: (p,) + v for (t, p), v in overlaps(truth, pred).items() if v[0] > iou_min}


def centroid(labels, i):
    ys, xs = np.nonzero(labels == i)
    return int(round(xs.mean())), int(round(ys.mean()))


def main():
    lesson, media = lesson_dirs(LESSON, WHO)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / "sample").mkdir()
        image, _, truth, image_file = make_sample(tmp / "sample", WHO)
        run_cli(["segment", image_file, "--out", tmp / "pred", "--model", MODEL, "--backend", "wasm"], WHO)
        (tmp / "gt").mkdir()
        shutil.copy(next(p for p in (tmp / "sample").iterdir() if "label" in p.name), tmp / "gt" / image_file.name)
        score = json.loads(run_cli(["eval", "--gt", tmp / "gt", "--pred", tmp / "pred", "--json"], WHO))
        pred = read_image(tmp / "pred" / (image_file.stem + ".png"))[0].astype(np.int64)

    true_ids = [int(i) for i in np.unique(truth) if i > 0]
    pred_ids = [int(i) for i in np.unique(pred) if i > 0]
    at50, at75 = match(truth, pred, 0.5), match(truth, pred, 0.75)
    found = len(at50)
    missed = [t for t in true_ids if t not in at50]
    matched_pred = {m[0] for m in at50.values()}
    false = [p for p in pred_ids if p not in matched_pred]
    if (found, len(false), len(missed)) != (score["tp50"], score["fp50"], score["fn50"]):
        fail(WHO, f"pairing here ({found} found, {len(false)} false, {len(missed)} missed) disagrees with "
                  f"celldrop eval ({score['tp50']}, {score['fp50']}, {score['fn50']})")

    # Figure 1: found nuclei outlined green, missed ones filled red, false objects outlined magenta.
    grey = stretch(image)
    rgb = np.repeat(grey[..., None], 3, axis=2).astype(np.float64)
    for t in missed:
        m = truth == t
        rgb[m] = 0.45 * rgb[m] + 0.55 * np.array([255, 40, 40])
    edge = outline(pred)
    found_edge = edge & np.isin(pred, list(matched_pred))
    rgb[found_edge] = (60, 230, 90)
    rgb[edge & ~found_edge] = (255, 60, 255)
    Image.fromarray(rgb.round().astype(np.uint8)).save(media / "scoring.png", optimize=True)

    # Figure 2: the found nucleus whose outline fits worst, close up: what IoU measures.
    worst_t, (worst_p, worst_iou, inter, union) = min(at50.items(), key=lambda kv: kv[1][1])
    ys, xs = np.nonzero((truth == worst_t) | (pred == worst_p))
    cy, cx = (ys.min() + ys.max()) // 2, (xs.min() + xs.max()) // 2
    half = max(ys.max() - ys.min(), xs.max() - xs.min()) // 2 + 6
    pad = half + 1  # a square crop even at the image's edge
    box = (slice(cy - half + pad, cy + half + 1 + pad), slice(cx - half + pad, cx + half + 1 + pad))
    t_in = np.pad(truth == worst_t, pad)[box]
    p_in = np.pad(pred == worst_p, pad)[box]
    close = np.repeat(np.pad(grey, pad)[box][..., None], 3, axis=2).astype(np.float64) * 0.5
    close[t_in & ~p_in] = (255, 200, 40)   # true only: yellow
    close[p_in & ~t_in] = (80, 170, 255)   # predicted only: blue
    close[t_in & p_in] = (255, 255, 255)   # both: white
    Image.fromarray(close.round().astype(np.uint8)).resize((256, 256), Image.NEAREST).save(media / "iou.png", optimize=True)
    true_only, pred_only = int((t_in & ~p_in).sum()), int((p_in & ~t_in).sum())

    places = [f"(x {x}, y {y})" for x, y in sorted(centroid(truth, t) for t in missed)]
    where = "no places: it missed none" if not places else places[0] if len(places) == 1 else \
        ", ".join(places[:-1]) + " and " + places[-1]
    fill_facts(lesson / "index.html", {
        "model": MODEL,
        "true": str(len(true_ids)),
        "predicted": str(len(pred_ids)),
        "found": str(found),
        "missed": str(len(missed)),
        "false": str(len(false)),
        "where": where,
        "inter": str(inter),
        "union": str(union),
        "true_only": str(true_only),
        "pred_only": str(pred_only),
        "worst_iou": f"{worst_iou:.2f}",
        "ap50": f"{score['ap50']:.3f}",
        "ap50_sum": f"{found} ÷ ({found} + {len(false)} + {len(missed)})",
        "found75": str(len(at75)),
        "ap75": f"{score['ap75']:.3f}",
        "dsb": f"{score['dsb']:.3f}",
    }, WHO)
    print(f"{WHO}: {MODEL} found {found} of {len(true_ids)} nuclei ({len(false)} false, {len(missed)} missed) -> {media}")


if __name__ == "__main__":
    main()
