"""Augmentation suited to microscopy, applied to image AND labels before the targets are computed from
the augmented labels by the C++ core: rays and flows are then right by construction (no ray
permutation or flow sign rules to get wrong)."""
import numpy as np
from scipy import ndimage


def random_crop(img, lab, crop, rng, scale_range=(0.8, 1.25)):
    """A crop x crop sample at a random scale around 1 (mild rescaling around the training diameter)."""
    scale = float(np.exp(rng.uniform(np.log(scale_range[0]), np.log(scale_range[1]))))
    src = max(8, int(round(crop / scale)))
    h, w = lab.shape
    if h < src or w < src:  # pad small images: reflect the image, background for the labels
        py, px = max(0, src - h), max(0, src - w)
        img = np.pad(img, ((0, py), (0, px), (0, 0)), mode="reflect")
        lab = np.pad(lab, ((0, py), (0, px)))
        h, w = lab.shape
    y0, x0 = rng.integers(0, h - src + 1), rng.integers(0, w - src + 1)
    img, lab = img[y0:y0 + src, x0:x0 + src], lab[y0:y0 + src, x0:x0 + src]
    if src != crop:
        f = crop / src
        img = ndimage.zoom(img, (f, f, 1), order=1, mode="nearest", grid_mode=True)[:crop, :crop]
        idx = np.minimum(((np.arange(crop) + 0.5) / f).astype(int), src - 1)
        lab = lab[idx][:, idx]
    return img, lab


def flip_rotate(img, lab, rng):
    k = int(rng.integers(4))
    img, lab = np.rot90(img, k, axes=(0, 1)), np.rot90(lab, k, axes=(0, 1))
    if rng.random() < 0.5:
        img, lab = img[:, ::-1], lab[:, ::-1]
    return np.ascontiguousarray(img), np.ascontiguousarray(lab)


def intensity(img, rng):
    """Contrast/brightness, gamma, blur and noise on a normalised image (mostly in [0, 1])."""
    img = img * rng.uniform(0.6, 1.4) + rng.uniform(-0.1, 0.1)
    if rng.random() < 0.5:
        img = np.sign(img) * np.abs(img) ** rng.uniform(0.7, 1.4)
    if rng.random() < 0.3:
        img = ndimage.gaussian_filter(img, (rng.uniform(0.3, 1.2),) * 2 + (0,))
    if rng.random() < 0.5:
        img = img + rng.normal(0, rng.uniform(0.005, 0.05), img.shape)
    return img.astype(np.float32)


def augment(img, lab, crop, rng):
    img, lab = random_crop(img, lab, crop, rng)
    img, lab = flip_rotate(img, lab, rng)
    return intensity(img, rng), lab
