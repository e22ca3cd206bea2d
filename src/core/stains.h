// Colour deconvolution of brightfield pictures (Ruifrok & Johnston, Anal Quant Cytol Histol 2001).
//
// A stained slide absorbs light: by Beer-Lambert's law each stain adds its own optical density
// OD = -log10(I / I_white) to each of red, green and blue, in a fixed proportion (the stain's colour
// vector). A pixel's three ODs are so a mix of the stains' vectors, and inverting the 3 x 3 matrix of
// those vectors unmixes them: the amount of each stain at the pixel.
//
// Why here: in an immunohistochemistry picture (a marker shown brown by DAB, nuclei counterstained
// blue by hematoxylin) the hematoxylin density is a picture of the nuclei alone, bright on dark, the
// way a fluorescence model was trained to see them; the brown of the marker, which darkens the grey
// image wherever the marker is, is gone from it. The DAB density is the marker's amount.
//
// Vectors: hematoxylin (0.650, 0.704, 0.286) and DAB (0.268, 0.570, 0.776), Ruifrok & Johnston's
// measured values (ImageJ's "H DAB", scikit-image's hdx), each scaled to length 1; the third is their
// cross product, which takes up what neither explains. Densities are not clipped: a colour that is no
// mix of the stains gives small negative amounts, as the linear unmixing says.
#pragma once

#include <cstdint>
#include <string>

#include "core/image.h"

namespace celldrop {

enum class Stain : uint8_t { None, Hematoxylin, Dab };

const char* stain_name(Stain stain);  // "hematoxylin", "dab"; "" for None
const char* stain_label(Stain stain);  // as people write it, for sentences and labels: "hematoxylin", "DAB"
// "hematoxylin" or "dab" (any case); false for anything else.
bool parse_stain(const std::string& name, Stain* stain);

// Whether stains can be unmixed from `image`: an RGB(A) picture of 8 or 16-bit samples, what
// stain_density takes (the page offers the stains only then).
bool can_unmix_stains(const Image& image);

// One stain's density at each pixel of an RGB (or RGBA: alpha is left out) picture of 8 or 16 bits:
// a float32 image of one channel, with the pixel size carried over. White (the sample type's largest
// value) is density 0; a zero sample counts as 1, so densities stay finite (at most 2.4 for 8 bits).
// False with a sentence in *error for an image of other channels or samples.
bool stain_density(const Image& rgb, Stain stain, Image* out, std::string* error);

}  // namespace celldrop
