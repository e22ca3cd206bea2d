// Label-image clean-up: the small, linear-time operations every segmentation ends with, and the
// object index the metrics and measurements build on.
//
// Object ids in a Labels image are arbitrary non-zero uint32 values (a user's label TIFF may skip
// ids or use huge ones); each function here accepts that and runs in time linear in the pixel count.
#pragma once

#include <cstdint>
#include <vector>

#include "core/image.h"
#include "core/polygon.h"

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

// Sets to background every object with a pixel in the image's first or last row or column: objects
// the field of view cuts, whose area, shape and intensity are those of a part (ImageJ's "exclude on
// edges", Cellpose's exclude_on_edges). Ids are not renumbered (remove_small_objects or
// relabel_sequential does that). Returns the number of objects removed.
int clear_border_objects(Labels& labels);

// Fills holes: a background region (4-connected) that does not touch the image border and whose
// neighbouring pixels all belong to ONE object becomes part of that object. A background gap enclosed
// by several touching objects is left alone: it is space between nuclei, not a hole in one of them.
// Returns the number of pixels filled.
long long fill_holes(Labels& labels);

// Curation by hand. A user corrects a result in two ways: removes an object (a false detection) or
// draws one (a nucleus the model missed). An edit is described by what a record or link needs to
// replay it: the object's id and, for a drawing, its outline. No id changes hands: the other objects
// keep theirs, and a drawn object takes the id its caller gives (one above every id the result has
// had; an undone drawing gives its id back), so the same edits on the same result always give the
// same labels.
struct HandEdit {
  uint32_t id = 0;
  std::vector<Point2> outline;  // empty: object `id` was removed; else it was drawn with this outline
};

// What an edit changed, to undo it: the object's id and its pixels' indices into Labels::data, ascending.
struct EditedObject {
  uint32_t id = 0;
  std::vector<size_t> pixels;
};

// Sets object `id`'s pixels to background; false (nothing changed) when the image has no object `id`.
bool remove_object(Labels& labels, uint32_t id, EditedObject* removed);

// Draws object `id` (which no pixel may carry yet): the background pixels whose centres lie inside
// `outline` (image pixels, closed implicitly, even-odd rule as fill_polygon) join it, while pixels of
// other objects are kept, so a drawing never takes from a neighbour. Of what that leaves only the
// largest 4-connected piece is kept: an outline dragged across a neighbour would otherwise make one
// object of two separate patches. False (nothing changed) when no background pixel lies inside or
// `id` is taken.
bool draw_object(Labels& labels, const std::vector<Point2>& outline, uint32_t id, EditedObject* drawn);

// Replays an edit (remove_object or draw_object); undo_hand_edit reverts it on the labels it made.
bool apply_hand_edit(Labels& labels, const HandEdit& edit, EditedObject* changed);
void undo_hand_edit(Labels& labels, const HandEdit& edit, const EditedObject& changed);

// Outline mask (1 = outline): object pixels with a 4-neighbour of a different label. Pixels outside
// the image count as background, so objects cut by the image border get a closed outline too.
std::vector<uint8_t> outlines(const Labels& labels);

}  // namespace celldrop
