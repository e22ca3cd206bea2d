"""Reading an image + label folder (the DSB2018 layout: images/<id>.png, labels/<id>.png, manifest.csv)
and bringing every image to the training object diameter.

Why a fixed diameter: a network sees well only near the object size it was trained at, and nuclei in
real data run from ~10 to ~100 px across. Each training image is rescaled so that its median nucleus
is `diameter` px across; at inference the pipeline estimates the size and rescales the same way."""
import csv
import functools
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage


def read_manifest(data_dir, modality=None, split=None):
    rows = list(csv.DictReader(open(Path(data_dir) / "manifest.csv")))
    return [r for r in rows
            if (modality is None or r["modality"] == modality) and (split is None or r["split"] == split)]


def load_pair(data_dir, sample_id, channels):
    """Image as float32 [h, w, channels] and labels as uint32 [h, w]."""
    data_dir = Path(data_dir)
    img = np.asarray(Image.open(data_dir / "images" / f"{sample_id}.png")).astype(np.float32)
    lab = np.asarray(Image.open(data_dir / "labels" / f"{sample_id}.png")).astype(np.uint32)
    if img.ndim == 2:
        img = img[..., None]
    img = img[..., :3] if img.shape[-1] >= 3 else img[..., :1]  # drop alpha
    if channels == 1 and img.shape[-1] > 1:
        img = img.mean(axis=-1, keepdims=True)  # gray stored as RGB
    elif channels == 3 and img.shape[-1] == 1:
        img = np.repeat(img, 3, axis=-1)
    return img, lab


def normalize(img, p_low=1.0, p_high=99.8):
    """Per-channel percentile normalisation, as the C++ core does (numpy's linear interpolation)."""
    out = np.empty_like(img, dtype=np.float32)
    for c in range(img.shape[-1]):
        lo, hi = np.percentile(img[..., c], [p_low, p_high])
        out[..., c] = (img[..., c] - lo) / max(hi - lo, 1e-6)
    return out


def median_diameter(labels):
    """Median equivalent-circle diameter of the objects, in px (0 when there are none)."""
    areas = np.bincount(labels.ravel())[1:]
    areas = areas[areas > 0]
    return float(np.median(2.0 * np.sqrt(areas / np.pi))) if len(areas) else 0.0


def rescale(img, lab, factor):
    """Bilinear for the image, nearest for the labels, to the same output shape."""
    if abs(factor - 1.0) < 1e-3:
        return img, lab
    h, w = lab.shape
    oh, ow = max(8, round(h * factor)), max(8, round(w * factor))
    zi = (oh / h, ow / w, 1)
    img = ndimage.zoom(img, zi, order=1, mode="nearest", grid_mode=True)
    ys = np.minimum(((np.arange(oh) + 0.5) * h / oh).astype(int), h - 1)
    xs = np.minimum(((np.arange(ow) + 0.5) * w / ow).astype(int), w - 1)
    return img.astype(np.float32), lab[ys][:, xs]


def load_sample(data_dir, sample_id, channels, diameter, p_low=1.0, p_high=99.8):
    img, lab = load_pair(data_dir, sample_id, channels)
    d = median_diameter(lab)
    factor = diameter / d if d > 0 else 1.0
    img_n = normalize(img, p_low, p_high)
    img_s, lab_s = rescale(img_n, lab, factor)
    return {"id": sample_id, "image": img_s, "labels": lab_s, "factor": factor,
            "orig_image": img_n, "orig_labels": lab}


def load_dataset(data_dir, modality, split, channels, diameter, workers=0, limit=0):
    """Every image of a split, normalised and rescaled to `diameter`; with its original-size labels
    for evaluation. Several processes when `workers` > 0 (rescaling is most of the start-up time)."""
    ids = [row["id"] for row in read_manifest(data_dir, modality, split)][:limit or None]
    job = functools.partial(load_sample, data_dir, channels=channels, diameter=diameter)
    if workers <= 0:
        return [job(i) for i in ids]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(job, ids, chunksize=4))
