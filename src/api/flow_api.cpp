// The C API's flow-dynamics entry points (celldrop_api.h, "flow dynamics"): the core's Cellpose-style
// steps one at a time, on plain arrays, so that a GPU implementation of one step (shaders/) can be fed
// the same inputs as the C++ reference and its output handed back to the next step.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "api/celldrop_api.h"
#include "core/flow.h"

using namespace celldrop;

namespace {

// The same JSON-string contract as celldrop_api.cpp: a cd_free-able block, never NULL for callers
// that check (malloc failing this small is out of reach in practice).
char* give(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p) std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

// Every array here is width x height (or 2 x that): a size the caller got wrong would read or write
// out of bounds, so it is refused before any pointer is touched.
bool check_size(int width, int height, std::string* error) {
  if (width <= 0 || height <= 0 || int64_t(width) * int64_t(height) > (int64_t(1) << 28)) {
    *error = "{\"error\":\"the field must be 1 to 2^28 pixels, width and height above 0 (got " + std::to_string(width) +
             " x " + std::to_string(height) + ")\"}";
    return false;
  }
  return true;
}

}  // namespace

char* cd_flow_from_labels(const uint32_t* labels, int width, int height, float* flow) {
  std::string error;
  if (!check_size(width, height, &error)) return give(error);
  Labels l = make_labels(width, height);
  std::memcpy(l.data.data(), labels, l.data.size() * sizeof(uint32_t));
  const FlowField f = masks_to_flows(l);
  std::memcpy(flow, f.data.data(), f.data.size() * sizeof(float));
  return give("{\"ok\":true}");
}

char* cd_flow_follow(const float* flow, const uint8_t* foreground, int width, int height, int niter, float flow_scale,
                     float* end_y, float* end_x) {
  std::string error;
  if (!check_size(width, height, &error)) return give(error);
  if (niter < 0) return give("{\"error\":\"niter must be 0 or more\"}");
  const size_t npix = size_t(width) * size_t(height);
  FlowField f = make_flow_field(width, height);
  std::memcpy(f.data.data(), flow, f.data.size() * sizeof(float));
  const std::vector<uint8_t> fg(foreground, foreground + npix);
  const EndPoints ends = follow_flows(f, fg, niter, flow_scale);
  // Per pixel, so the caller needs no index list: background pixels keep their own position.
  for (size_t i = 0; i < npix; ++i) {
    end_y[i] = float(i / size_t(width));
    end_x[i] = float(i % size_t(width));
  }
  for (size_t k = 0; k < ends.pixel.size(); ++k) {
    end_y[ends.pixel[k]] = ends.y[k];
    end_x[ends.pixel[k]] = ends.x[k];
  }
  return give("{\"foreground\":" + std::to_string(ends.pixel.size()) + "}");
}

char* cd_flow_masks(const float* end_y, const float* end_x, const uint8_t* foreground, int width, int height,
                    float max_size_fraction, uint32_t* labels) {
  std::string error;
  if (!check_size(width, height, &error)) return give(error);
  const size_t npix = size_t(width) * size_t(height);
  // get_masks depends on the set of end points, not their order: raster order serves.
  EndPoints ends;
  for (size_t i = 0; i < npix; ++i) {
    if (!foreground[i]) continue;
    if (!std::isfinite(end_y[i]) || !std::isfinite(end_x[i]))
      return give("{\"error\":\"end point " + std::to_string(i) + " is not a finite number\"}");
    ends.pixel.push_back(uint32_t(i));
    ends.y.push_back(end_y[i]);
    ends.x.push_back(end_x[i]);
  }
  const Labels masks = get_masks(ends, width, height, max_size_fraction);
  uint32_t max_label = 0;
  for (size_t i = 0; i < npix; ++i) {
    labels[i] = masks.data[i];
    max_label = std::max(max_label, masks.data[i]);
  }
  return give("{\"max_label\":" + std::to_string(max_label) + "}");
}
