// The viewer's image on the GPU: an 8-bit grayscale texture (WebGL2 through OpenGL ES 3).
#pragma once

#include <cstdint>
#include <string>

namespace celldrop {

struct GrayTexture {
  unsigned id = 0;  // GL texture name; 0 = none
  int width = 0;
  int height = 0;
};

// Creates or refills `tex` with width x height bytes (row-major, no padding). Magnification is
// nearest-neighbour so zoomed-in pixels stay square and honest; minification uses mipmaps so a
// zoomed-out image is averaged rather than aliased. Returns false with a reason in *error.
bool upload_gray_texture(GrayTexture* tex, const uint8_t* gray, int width, int height, std::string* error);

// Creates or refills `tex` with width x height RGBA pixels (the mask overlay). Nearest-neighbour both
// ways and no mipmaps: an outline stays one image pixel wide and never smears into its neighbours.
bool upload_rgba_texture(GrayTexture* tex, const uint8_t* rgba, int width, int height, std::string* error);

void destroy_texture(GrayTexture* tex);

}  // namespace celldrop
