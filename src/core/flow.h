// Cellpose-style post-processing: from a cell probability map and a flow field to labels.
//
// The method (Stringer et al., Cellpose, 2021), as CellDrop implements it:
//   1. masks_to_flows: for each object, heat diffuses from the object's centre pixel; the normalised
//      gradient of that heat is a unit vector field that points, from every pixel of the object, along
//      a path inside the object toward its centre. The network learns to predict this field.
//   2. follow_flows: every foreground pixel (cell probability above a threshold) moves along the
//      predicted field for `niter` steps of 1 px (Euler integration, bilinear sampling). Pixels of one
//      object all end near that object's centre.
//   3. get_masks: end points are counted in a histogram; its dense spots are seeds, each grown over
//      its neighbourhood; every pixel takes the label of the spot its end point fell in.
//   4. Quality control: flows recomputed from each mask are compared with the network's; masks whose
//      mean squared difference exceeds the flow threshold are dropped (their shape is not what the
//      network described). Then holes are filled, masks too small or too large removed, and labels
//      renumbered 1..N.
//
// Conventions (shared by training targets and inference, so the two cannot drift apart):
//   - A flow field is PLANAR, 2 x H x W floats: plane 0 is dy (rows, +y = down), plane 1 is dx
//     (columns, +x = right), in the order of the network's NCHW output channels.
//   - masks_to_flows writes unit vectors (length 1) pointing toward the object's centre; background
//     and pixels the heat did not reach are 0.
//   - Network flows may be trained at a multiple of that (Cellpose trains on 5 x unit flows):
//     FlowParams::flow_scale divides the network's flows before dynamics and QC, so that both see
//     unit flows. The flow error of a mask is the mean over its pixels of
//     (dy_mask - dy_net / flow_scale)^2 + (dx_mask - dx_net / flow_scale)^2, Cellpose's measure.
//
// Cost: masks_to_flows works inside each object's bounding box (about 4 x diameter steps over it),
// follow_flows stops integrating a pixel once it only oscillates about its end point, and the
// clustering is a constant number of passes over the image: the whole is linear in the pixel count
// for a given object size.
#pragma once

#include <cstdint>
#include <vector>

#include "core/image.h"

namespace celldrop {

struct FlowField {
  int width = 0;
  int height = 0;
  std::vector<float> data;  // 2 * width * height: the dy plane, then the dx plane

  float* dy() { return data.data(); }
  float* dx() { return data.data() + size_t(width) * size_t(height); }
  const float* dy() const { return data.data(); }
  const float* dx() const { return data.data() + size_t(width) * size_t(height); }
};

FlowField make_flow_field(int width, int height);  // zero-filled

// Training target and QC reference: unit flows toward each object's centre. The centre is the
// object pixel nearest the (per-axis) median of its pixel coordinates, so it lies inside non-convex
// objects too. Heat diffuses over 2 * (bbox height + bbox width) iterations of a 3x3 mean inside the
// object (outside pixels held at 0), so it reaches the far ends of elongated objects.
FlowField masks_to_flows(const Labels& labels);

// Dynamics: end positions of the foreground pixels after `niter` Euler steps of size |flow| along
// the flow field, bilinearly sampled from the field masked to the foreground (a pixel that drifts
// into background stops there), positions clamped to the image. `flow_scale` divides the field.
// A pixel whose net displacement over 4 steps falls below a quarter of its path length over them
// is oscillating about its end point (typically between an object's centre pixel, whose flow is a
// normalised near-zero gradient, and a neighbour), and one whose path over 4 steps is under
// 0.025 px has settled (at that pace 200 steps move it about 1 px): either stops there instead of
// spending the remaining steps, which makes the cost follow the object size rather than niter.
struct EndPoints {
  std::vector<uint32_t> pixel;  // index y * width + x of each foreground pixel (in 64x64 blocks)
  std::vector<float> y;         // its end position
  std::vector<float> x;
};
EndPoints follow_flows(const FlowField& flow, const std::vector<uint8_t>& foreground, int niter,
                       float flow_scale = 1.0f);

// Clustering of end points into labels 1..N (0 where a pixel's end point joined no cluster).
// Seeds: histogram cells whose 3x3 count reaches 10 end points and is the largest within 2 px;
// each seed grows over cells holding end points, up to 5 px from it, nearest seed first. Masks
// covering more than `max_size_fraction` of the image are removed (a failed, image-wide cluster).
Labels get_masks(const EndPoints& ends, int width, int height, float max_size_fraction = 0.4f);

// Per-label flow error (see the conventions above), indexed by label value (entry 0 unused, -1 for
// labels absent from the image), so meant for labels numbered 1..N (relabel_sequential).
std::vector<float> flow_errors(const Labels& labels, const FlowField& network_flow,
                               float flow_scale = 1.0f);

// Iterations for an object diameter: 200 at the network's reference diameter, proportionally more
// or fewer elsewhere (at least 1), as paths are longer in larger objects.
int flow_niter_for_diameter(double diameter, double reference_diameter);

struct FlowParams {
  float cellprob_threshold = 0.0f;  // foreground: network cell probability (logit) above this
  float flow_threshold = 0.4f;      // drop masks whose flow error exceeds this; <= 0 disables QC
  int niter = 200;                  // Euler steps; see flow_niter_for_diameter
  float flow_scale = 1.0f;          // the network's flows are flow_scale x unit flows (Cellpose: 5)
  int min_size = 15;                // masks smaller than this (px, after hole filling) are removed
  float max_size_fraction = 0.4f;   // masks larger than this fraction of the image are removed
};

// The whole chain: cellprob is H x W (row-major), flow is planar 2 x H x W (dy, dx) as above.
// Returns labels 1..N (ordered by the strength of their end-point cluster, strongest first).
Labels flow_postprocess(const float* cellprob, const FlowField& flow, const FlowParams& params);

// The chain's steps around the dynamics, for a caller that integrates elsewhere (the page follows
// flows on the GPU, shaders/flow_follow.wgsl): flow_postprocess is
//   ends = follow_flows(flow, flow_foreground(cellprob, npix, params), params.niter, params.flow_scale)
//   return flow_masks_from_ends(ends, flow, params)
std::vector<uint8_t> flow_foreground(const float* cellprob, size_t npix, const FlowParams& params);
// Clustering, flow-error QC, hole filling, small-object removal and renumbering of the end points.
Labels flow_masks_from_ends(const EndPoints& ends, const FlowField& flow, const FlowParams& params);

// flow_postprocess for a caller that gives its buffers up (the pipeline, whose memory at 4096² is
// what limits): the foreground instead of the cell probability, and the field masked for the
// dynamics in place instead of copied, each buffer freed once its step is done. Same labels as
// flow_postprocess(cellprob, flow, params) when foreground = flow_foreground(cellprob, ...).
Labels flow_postprocess_owned(FlowField flow, std::vector<uint8_t> foreground, const FlowParams& params);

}  // namespace celldrop
