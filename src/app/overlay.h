// The mask overlay: a label image turned into what the viewer draws over the image (outlines,
// filled colours, or both) and what hovering reads (object areas).
#pragma once

#include <cstdint>
#include <vector>

#include "core/image.h"
#include "core/measure.h"

namespace celldrop {

enum class OverlayMode : int { Outlines = 0, Filled = 1, Both = 2 };

constexpr uint32_t kOutlineRgb = 0xFFD21E;  // the outline colour, yellow: reads on grey and on black
// Marker-positive and negative objects (measure.h's classify_positive), outlined and filled in these
// instead: a warm and a cool colour of Okabe and Ito's palette, told apart with any colour vision.
constexpr uint32_t kPositiveRgb = 0xFF6E3C;
constexpr uint32_t kNegativeRgb = 0x56B4E9;
// Graded objects (measure.h's intensity grades): negative, then 1+, 2+ and 3+ in yellow, orange and
// crimson (QuPath's order of colours), darker as the stain gets stronger. Not the palette's vermillion
// for 3+: over the brown of DAB, where such nuclei lie, it is hard to tell from the orange.
constexpr uint32_t kGradeRgb[4] = {kNegativeRgb, 0xF0E442, 0xE69F00, 0xE8112D};
// The colour a classified object is drawn in: its grade's when graded, else positive's or negative's;
// 0 when it is not classified.
uint32_t class_rgb(const ObjectMeasurements& object);
// "negative", "1+", "2+", "3+" (grade 0 to 3), as QuPath names the classes.
const char* grade_name(int grade);
const char* overlay_mode_name(OverlayMode mode);  // "outlines", "filled", "both"

// An object's fill colour, 0xRRGGBB: a fixed hash of its id, so an object keeps its colour between
// runs and pages, and neighbouring ids (often neighbouring objects) get unrelated hues. Bright and
// fairly saturated, so it reads over dark and bright image regions alike.
uint32_t object_color(uint32_t id);

// RGBA pixels of the rectangle x0..x1 - 1, y0..y1 - 1 of the overlay layer for `mode`, into rgba
// ((x1 - x0) * (y1 - y0) * 4 bytes, row by row): an edge pixel of an object (one that touches another
// id through a 4-neighbour, the image border counting as background) gets `outline_rgb` in Outlines and
// Both; the other object pixels get object_color(id) in Filled and Both (Filled colours edges too);
// drawn pixels are opaque, every other pixel is transparent. Opacity is applied when drawing, so
// changing it costs no upload. The page makes and uploads the layer a band of rows at a time (a whole
// 4096^2 layer would hold 64 MB for a moment in the page), and after a change of classes only the
// rectangles that changed (class_change_rects). rgb_by_id, when given: an object whose entry is non-zero
// is drawn in that colour, outline and fill alike (its class); ids past its end and zero entries are
// drawn as above.
void overlay_rgba_rect(const Labels& labels, OverlayMode mode, uint32_t outline_rgb, int x0, int y0, int x1, int y1,
                       uint8_t* rgba, const std::vector<uint32_t>* rgb_by_id = nullptr);

// A rectangle of the layer: columns x0..x1 - 1, rows y0..y1 - 1.
struct OverlayRect {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

// What to repaint when the objects' class colours change from `before` to `after` (rgb_by_id of
// overlay_rgba_rect; a missing entry is 0): the bounding box of each object whose colour changed. An
// object's colour touches its own pixels only, so its box holds all that changes. Dragging the
// threshold of "Count positive" moves a few objects from class to class per frame: repainting their
// boxes instead of the whole layer keeps it smooth on a 4096^2 image.
std::vector<OverlayRect> class_change_rects(const std::vector<uint32_t>& before, const std::vector<uint32_t>& after,
                                            const std::vector<ObjectMeasurements>& objects);

// Pixel count per id: areas[id], areas[0] = background; sized max id + 1.
std::vector<uint32_t> label_areas(const Labels& labels);

// The number of distinct non-zero ids.
int count_objects(const std::vector<uint32_t>& areas);

}  // namespace celldrop
