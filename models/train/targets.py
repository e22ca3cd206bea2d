"""Training targets from labels, through the C++ core (native.py) where the geometry lives."""
import numpy as np
from scipy import ndimage

import native
from model import FLOW_SCALE


def object_edt_prob(labels):
    """StarDist's probability target: distance to the object's border (background or another object),
    normalised to 1 at each object's most interior pixel."""
    lab = labels
    border = np.zeros(lab.shape, bool)
    border[:-1] |= lab[:-1] != lab[1:]
    border[1:] |= lab[1:] != lab[:-1]
    border[:, :-1] |= lab[:, :-1] != lab[:, 1:]
    border[:, 1:] |= lab[:, 1:] != lab[:, :-1]
    edt = ndimage.distance_transform_edt(~border & (lab > 0)) + (lab > 0)
    peak = ndimage.maximum(edt, lab, index=np.arange(lab.max() + 1))
    peak = np.asarray(peak, np.float32)
    peak[0] = 1
    return np.where(lab > 0, edt / peak[lab], 0).astype(np.float32)


def star_targets(labels, n_rays, grid):
    prob = object_edt_prob(labels)[::grid, ::grid]
    dist = native.star_distances(labels, n_rays, grid).transpose(2, 0, 1)  # [n_rays, gh, gw]
    return prob[None], dist


def flow_targets(labels):
    fg = (labels > 0).astype(np.float32)[None]
    flow = native.masks_to_flows(labels) * FLOW_SCALE
    return fg, flow
