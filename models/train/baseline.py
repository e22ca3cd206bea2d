#!/usr/bin/python3
"""The classical baseline the shipped models are compared with: Otsu threshold, then a watershed on
the distance transform seeded by its local maxima (the textbook nuclei pipeline before deep learning).

  /usr/bin/python3 models/train/baseline.py IMAGES_DIR --out PRED_DIR [--dark]
  node cli/celldrop.mjs eval --gt LABELS_DIR --pred PRED_DIR"""
import argparse
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.feature import peak_local_max
from skimage.filters import gaussian, threshold_otsu
from skimage.segmentation import watershed


def segment(img, min_distance=4, min_size=15, dark=False):
    img = img.astype(np.float32)
    if img.ndim == 3:
        img = img[..., :3].mean(axis=-1)
    if dark:  # brightfield/H&E: nuclei darker than their surroundings
        img = img.max() - img
    smooth = gaussian(img, 1.0, preserve_range=True)
    fg = smooth > threshold_otsu(smooth)
    fg = ndimage.binary_fill_holes(fg)
    dist = ndimage.distance_transform_edt(fg)
    peaks = peak_local_max(dist, min_distance=min_distance, labels=ndimage.label(fg)[0], exclude_border=False)
    markers = np.zeros(img.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    labels = watershed(-dist, markers, mask=fg)
    sizes = np.bincount(labels.ravel())
    labels[sizes[labels] < min_size] = 0
    return labels


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("images")
    p.add_argument("--out", required=True)
    p.add_argument("--dark", action="store_true", help="objects are dark on a bright background (H&E)")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(Path(args.images).glob("*.png")):
        labels = segment(np.asarray(Image.open(path)), dark=args.dark)
        Image.fromarray(labels.astype(np.uint16)).save(out / path.name)


if __name__ == "__main__":
    main()
