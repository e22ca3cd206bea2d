#!/usr/bin/python3
"""A synthetic immunohistochemistry slide with exact ground truth, for the tests and the classroom: the
generator's nuclei as hematoxylin (each pixel's amount from the nuclei image's intensity), the odd
nuclei stained brown by DAB as a marker does, and brown DAB blobs of a nucleus's size between them,
mixed by Beer-Lambert's law with Ruifrok & Johnston's stain vectors, written out here apart from
src/core/stains.cpp, or with another lab's. In the grey picture the blobs are as dark as nuclei; in the
hematoxylin they are gone.

  ihc_slide.py NUCLEI.png LABELS.png OUT.png SEED [HR,HG,HB/DR,DG,DB] [--hematoxylin-only]
      the CLI's synth image and labels; 8-bit RGB out; the optional colours are the optical densities of
      hematoxylin and DAB in red, green and blue (default Ruifrok & Johnston's); --hematoxylin-only
      leaves the DAB out (a slide of one stain)

ihc_rgb(hematoxylin, dab) is the mixing alone, for a slide of other amounts (lessons/measuring)."""
import sys
import numpy as np
from PIL import Image


RUIFROK = ((0.650, 0.704, 0.286), (0.268, 0.570, 0.776))


def ihc_rgb(hematoxylin, dab, colours=RUIFROK):
    """The transmitted light of these amounts (optical densities) of the two stains, as 8-bit RGB."""
    hv = np.array(colours[0], np.float64); hv /= np.linalg.norm(hv)
    dv = np.array(colours[1], np.float64); dv /= np.linalg.norm(dv)
    rgb = 255 * 10 ** (-(hematoxylin[..., None] * hv + dab[..., None] * dv))
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def blobs_between(labels, rng, count=25, sigma=7.0):
    """DAB where no nucleus is: `count` Gaussian blobs of a nucleus's size, up to 0.9."""
    yy, xx = np.mgrid[0:labels.shape[0], 0:labels.shape[1]]
    blobs = np.zeros(labels.shape)
    for _ in range(count):
        cy, cx = rng.uniform(0, labels.shape[0]), rng.uniform(0, labels.shape[1])
        blobs += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma ** 2))
    return 0.9 * np.clip(blobs, 0, 1) * (labels == 0)


def main():
    hematoxylin_only = "--hematoxylin-only" in sys.argv
    args = [a for a in sys.argv[1:] if a != "--hematoxylin-only"]
    nuclei, labels, out, seed = args[0], args[1], args[2], int(args[3])
    colours = RUIFROK
    if len(args) > 4:
        colours = tuple(tuple(float(x) for x in part.split(',')) for part in args[4].split('/'))
    t = np.asarray(Image.open(nuclei), np.float64)
    t = (t - t.min()) / max(t.max() - t.min(), 1)
    gt = np.asarray(Image.open(labels)).astype(np.int64)
    d = blobs_between(gt, np.random.default_rng(seed)) + 0.35 * (gt % 2 == 1)
    if hematoxylin_only:
        d = np.zeros(gt.shape)
    Image.fromarray(ihc_rgb(0.05 + 0.6 * t, d, colours), 'RGB').save(out)


if __name__ == "__main__":
    main()
