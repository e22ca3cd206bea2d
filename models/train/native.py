"""ctypes bindings to libcelldrop_train.so: training targets and validation post-processing come from
CellDrop's C++ core, so the geometry the network learns is the geometry the app decodes.

Build the library with `bash scripts/build.sh native` (it lands in $CELLDROP_BUILD/native)."""
import ctypes
import os
from pathlib import Path

import numpy as np

_ROOT = Path(__file__).resolve().parents[2]
_BUILD = Path(os.environ.get("CELLDROP_BUILD", _ROOT / "build"))
_LIB_PATH = _BUILD / "native" / "libcelldrop_train.so"
if not _LIB_PATH.exists():
    raise ImportError(f"{_LIB_PATH} is missing: run `bash scripts/build.sh native` first")
_lib = ctypes.CDLL(str(_LIB_PATH))

_u32p = np.ctypeslib.ndpointer(np.uint32, flags="C_CONTIGUOUS")
_f32p = np.ctypeslib.ndpointer(np.float32, flags="C_CONTIGUOUS")
_i32p = np.ctypeslib.ndpointer(np.int32, flags="C_CONTIGUOUS")
_c_int, _c_float = ctypes.c_int, ctypes.c_float

_lib.celldrop_star_distances.argtypes = [_u32p, _c_int, _c_int, _c_int, _c_int, _f32p]
_lib.celldrop_masks_to_flows.argtypes = [_u32p, _c_int, _c_int, _f32p]
_lib.celldrop_star_postprocess.argtypes = [_f32p, _f32p, _c_int, _c_int, _c_int, _c_int, _c_int,
                                           _c_int, _c_float, _c_float, _u32p]
_lib.celldrop_flow_postprocess.argtypes = [_f32p, _f32p, _c_int, _c_int, _c_float, _c_float, _c_int,
                                           _c_float, _u32p]
_lib.celldrop_match.argtypes = [_u32p, _u32p, _c_int, _c_int, ctypes.c_double, _i32p]


def _check(rc, what):
    if rc != 0:
        raise ValueError(f"celldrop_{what}: invalid arguments")


def grid_size(pixels, grid):
    return (pixels + grid - 1) // grid


def star_distances(labels, n_rays=32, grid=1):
    """[gh, gw, n_rays] float32 ray distances (core/star.h conventions)."""
    lab = np.ascontiguousarray(labels, dtype=np.uint32)
    h, w = lab.shape
    out = np.zeros((grid_size(h, grid), grid_size(w, grid), n_rays), np.float32)
    _check(_lib.celldrop_star_distances(lab, w, h, n_rays, grid, out), "star_distances")
    return out


def masks_to_flows(labels):
    """[2, h, w] float32 unit flows (dy, dx) toward each object's centre (core/flow.h conventions)."""
    lab = np.ascontiguousarray(labels, dtype=np.uint32)
    h, w = lab.shape
    out = np.zeros((2, h, w), np.float32)
    _check(_lib.celldrop_masks_to_flows(lab, w, h, out), "masks_to_flows")
    return out


def star_postprocess(prob, dist, grid, out_h, out_w, prob_thresh, nms_thresh):
    """prob [gh, gw], dist [gh, gw, n_rays] -> labels [out_h, out_w]."""
    prob = np.ascontiguousarray(prob, dtype=np.float32)
    dist = np.ascontiguousarray(dist, dtype=np.float32)
    gh, gw, n_rays = dist.shape
    out = np.zeros((out_h, out_w), np.uint32)
    _check(_lib.celldrop_star_postprocess(prob, dist, gw, gh, n_rays, grid, out_w, out_h,
                                          prob_thresh, nms_thresh, out), "star_postprocess")
    return out


def flow_postprocess(cellprob, flow, cellprob_threshold, flow_threshold, niter, flow_scale):
    """cellprob [h, w] logits, flow [2, h, w] -> labels [h, w]."""
    cellprob = np.ascontiguousarray(cellprob, dtype=np.float32)
    flow = np.ascontiguousarray(flow, dtype=np.float32)
    h, w = cellprob.shape
    out = np.zeros((h, w), np.uint32)
    _check(_lib.celldrop_flow_postprocess(cellprob, flow, w, h, cellprob_threshold, flow_threshold,
                                          niter, flow_scale, out), "flow_postprocess")
    return out


def match(gt, pred, iou_threshold):
    """(tp, fp, fn) with one-to-one matching at IoU > iou_threshold (core/metrics.h)."""
    gt = np.ascontiguousarray(gt, dtype=np.uint32)
    pred = np.ascontiguousarray(pred, dtype=np.uint32)
    counts = np.zeros(3, np.int32)
    _check(_lib.celldrop_match(gt, pred, gt.shape[1], gt.shape[0], iou_threshold, counts), "match")
    return tuple(int(c) for c in counts)
