// Label-image clean-up: the small, linear-time operations every segmentation ends with, and the
// object index the metrics and measurements build on.
//
// Object ids in a Labels image are arbitrary non-zero uint32 values (a user's label TIFF may skip
// ids or use huge ones); each function here accepts that and runs in time linear in the pixel count.
#pragma once

#include <cstdint>
#include <vector>

#include "core/image.h"

namespace celldrop {

// The objects of a label image, numbered densely: ids[i] is the label of object i (ascending), and
// pixel_index[p] is the object index of pixel p, or -1 for background. Later passes then use plain
// arrays indexed by object instead of looking ids up per pixel.
struct ObjectIndex {
  std::vector<uint32_t> ids;
  std::vector<int32_t> pixel_index;  // width * height, row-major like Labels::data
  int count() const { return int(ids.size()); }
};

ObjectIndex index_objects(const Labels& labels);

// Renumbers objects to 1..N, keeping the order of their old ids (so an already sequential image is
// unchanged). Returns N.
int relabel_sequential(Labels& labels);

// Sets to background every object with fewer than `min_pixels` pixels and renumbers the others
// 1..N as relabel_sequential does. Returns N.
int remove_small_objects(Labels& labels, int min_pixels);

// Fills holes: a background region (4-connected) that does not touch the image border and whose
// neighbouring pixels all belong to ONE object becomes part of that object. A background gap enclosed
// by several touching objects is left alone: it is space between nuclei, not a hole in one of them.
// Returns the number of pixels filled.
long long fill_holes(Labels& labels);

// Curation by hand: an object taken out of a result (a false detection) and what puts it back. The
// other objects keep their ids, so a list of removed ids means the same thing on the same result.
struct RemovedObject {
  uint32_t id = 0;
  std::vector<size_t> pixels;  // its pixels' indices into Labels::data, ascending
};

// Sets object `id`'s pixels to background and returns them in *removed; false (nothing changed) when
// the image has no object `id`.
bool remove_object(Labels& labels, uint32_t id, RemovedObject* removed);

// Puts a removed object back (the inverse of remove_object on the labels it came from).
void restore_object(Labels& labels, const RemovedObject& removed);

// Outline mask (1 = outline): object pixels with a 4-neighbour of a different label. Pixels outside
// the image count as background, so objects cut by the image border get a closed outline too.
std::vector<uint8_t> outlines(const Labels& labels);

}  // namespace celldrop
