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
// Vectors: by default hematoxylin (0.650, 0.704, 0.286) and DAB (0.268, 0.570, 0.776), Ruifrok &
// Johnston's measured values (ImageJ's "H DAB", scikit-image's hdx), each scaled to length 1; the third
// is their cross product, which takes up what neither explains. Densities are not clipped: a colour
// that is no mix of the stains gives small negative amounts, as the linear unmixing says.
//
// A lab's stains are not Ruifrok's: hematoxylin runs from blue to purple, DAB from yellow-brown to
// near black. With the wrong vectors some DAB reads as hematoxylin (brown blobs become "nuclei") and
// some hematoxylin as DAB (negative nuclei look positive). estimate_stain_vectors measures the two
// colours on the slide itself, as QuPath's "Estimate stain vectors" does.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/image.h"

namespace celldrop {

enum class Stain : uint8_t { None, Hematoxylin, Dab };

// The two stains' colours: optical density in red, green and blue per unit of stain. Any length;
// unmixing scales each to 1. The defaults are Ruifrok & Johnston's.
struct StainVectors {
  double hematoxylin[3] = {0.650, 0.704, 0.286};
  double dab[3] = {0.268, 0.570, 0.776};
};

const char* stain_name(Stain stain);  // "hematoxylin", "dab"; "" for None
const char* stain_label(Stain stain);  // as people write it, for sentences and labels: "hematoxylin", "DAB"
// "hematoxylin" or "dab" (any case); false for anything else.
bool parse_stain(const std::string& name, Stain* stain);

// Whether stains can be unmixed from `image`: an RGB(A) picture of 8 or 16-bit samples, what
// stain_density takes (the page offers the stains only then).
bool can_unmix_stains(const Image& image);

// Estimates the slide's own hematoxylin and DAB colours (Macenko et al., ISBI 2009): the optical
// densities of the stained pixels (total density above 0.15; the bright glass between carries only
// noise) lie in a plane spanned by the two stains, found as the two main axes of their spread; each
// pixel's direction in that plane is an angle, and the 1st and 99th percentiles of the angles are the
// purest pixels of either stain. The one nearer Ruifrok's hematoxylin is named hematoxylin. False with
// a sentence when the picture cannot be unmixed (can_unmix_stains), has too few stained pixels, or its
// two colours are not two stains like hematoxylin and DAB: closer than 10 degrees to each other (one
// stain alone: the other's colour is only noise) or further than 25 degrees from the one they are named
// for (another stain, such as H&E's pink eosin).
bool estimate_stain_vectors(const Image& rgb, StainVectors* out, std::string* error);

// "0.650 0.704 0.286": a vector scaled to length 1, three decimals, for records and the page.
std::string stain_vector_text(const double v[3]);

// One stain's density at each pixel of an RGB (or RGBA: alpha is left out) picture of 8 or 16 bits:
// a float32 image of one channel, with the pixel size carried over. White (the sample type's largest
// value) is density 0; a zero sample counts as 1, so densities stay finite (at most 2.4 for 8 bits).
// `vectors` are the stains' colours. False with a sentence in *error for an image of other channels or
// samples.
bool stain_density(const Image& rgb, Stain stain, const StainVectors& vectors, Image* out, std::string* error);

// The same unmixing a run of pixels at a time, for code that only sums the densities (measure_stains):
// whole float images of both stains would take 8 bytes a pixel, 2 GB for a 16k x 16k slide.
struct StainUnmixing {
  std::vector<float> od;      // optical density of each sample value of the picture's type
  float weights[2][3] = {};   // hematoxylin's, DAB's: a stain's amount is weights . (OD red, green, blue)
};
// False with a sentence in *error for a picture stain_density would refuse.
bool prepare_stain_unmixing(const Image& rgb, const StainVectors& vectors, StainUnmixing* out, std::string* error);
// The amount of `stain` (not None) at pixels first .. first + count - 1 of `rgb` (row-major), into out;
// `rgb` is the picture the unmixing was prepared for.
void unmix_pixels(const StainUnmixing& unmixing, const Image& rgb, Stain stain, size_t first, size_t count, float* out);

}  // namespace celldrop
