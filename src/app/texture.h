// The viewer's image on the GPU: an 8-bit grey or RGB texture (WebGL2 through OpenGL ES 3), and the
// mask overlay's RGBA one.
#pragma once

#include <cstdint>
#include <string>

namespace celldrop {

struct Texture {
  unsigned id = 0;  // GL texture name; 0 = none
  int width = 0;
  int height = 0;
  unsigned format = 0;  // GL pixel format of an image texture (grey or RGB)
};

// Creates or refills `tex` with width x height pixels of `bytes_per_pixel` bytes (1: grey, 3: RGB;
// row-major, no padding). Magnification is nearest-neighbour so zoomed-in pixels stay square and
// honest; minification uses mipmaps so a zoomed-out image is averaged rather than aliased. Returns
// false with a reason in *error.
bool upload_image_texture(Texture* tex, const uint8_t* pixels, int width, int height, int bytes_per_pixel,
                          std::string* error);

// Creates (or re-creates at a new size) `tex` as a width x height RGBA texture (the mask overlay),
// transparent until it is filled by upload_rgba_rect, so a large overlay never needs all its
// pixels in memory at once. Nearest-neighbour both ways and no mipmaps: an outline stays one image
// pixel wide and never smears into its neighbours.
bool allocate_rgba_texture(Texture* tex, int width, int height, std::string* error);

// Fills the width x height pixels of `tex` from column x0, row y0 with RGBA pixels (row by row).
// Unchecked: asking the driver for its errors waits for the GPU (in a browser, a round trip to its GPU
// process); checked piece by piece, repainting a few objects' boxes cost as much as the whole layer
// (bench/README.md, count_drag_bench). A caller that uploads many pieces clears the errors before them
// and checks once after them.
void upload_rgba_rect(Texture* tex, const uint8_t* rgba, int x0, int y0, int width, int height);

// Forgets the errors earlier GL calls left (bounded: a lost context may keep reporting), so that
// graphics_ok() blames only the calls after it.
void clear_graphics_errors();

// False with a sentence in *error when a GL call since clear_graphics_errors() failed; `what` names
// the texture ("overlay").
bool graphics_ok(const char* what, std::string* error);

void destroy_texture(Texture* tex);

}  // namespace celldrop
