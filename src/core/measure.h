// Per-object measurements: the table users export (CSV) and sort in the page.
//
// Conventions:
// - Coordinates are pixel coordinates with pixel (x, y)'s centre at (x, y); the centroid is the mean
//   of the object's pixel centres.
// - Perimeter: length of the object's marching-squares contour (the polygon through the midpoints
//   between object and non-object pixel centres: 1 per straight step, sqrt(2)/2 per corner cut),
//   times Kulpa's factor pi (1 + sqrt(2)) / 8 = 0.948. Such 8-direction contours overstate slanted
//   boundaries (by up to 8%, about 5.5% on average over directions); the factor makes the estimate
//   unbiased over directions, so a digital disk reads within about 1% of its circumference, while
//   axis-aligned edges read 5% short. A w x h rectangle: 0.948 (2(w-1) + 2(h-1) + 2 sqrt(2)).
//   Holes add their own contour. Neighbours do not change an object's perimeter (each object is
//   traced as if alone).
// - Circularity 4*pi*area/perimeter^2, capped at 1 (as ImageJ does): tiny objects would otherwise
//   exceed 1, since the pixel count overstates the area inside their contour.
// - Eccentricity of the ellipse with the same second central moments: sqrt(1 - l2/l1) for the
//   eigenvalues l1 >= l2 of the pixel-centre covariance; 0 for a disk or a single pixel, 1 for a line.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/image.h"
#include "core/stains.h"

namespace celldrop {

struct ObjectMeasurements {
  uint32_t id = 0;
  long long area_px = 0;
  double area_um2 = 0.0;            // 0 when the image has no pixel size
  double centroid_x = 0.0, centroid_y = 0.0;
  int bbox_x0 = 0, bbox_y0 = 0;     // first column and row of the object
  int bbox_x1 = 0, bbox_y1 = 0;     // one past the last column and row
  double perimeter_px = 0.0;
  double circularity = 0.0;
  double eccentricity = 0.0;
  // Per channel of the image (empty when measured without one).
  std::vector<double> mean, min, max, integrated;
  // Each stain's mean optical density over the object (stains.h), for a brightfield slide whose run read
  // it through a stain (measure_stains); NaN when not measured.
  double hematoxylin_od = std::numeric_limits<double>::quiet_NaN();
  double dab_od = std::numeric_limits<double>::quiet_NaN();
  // Marker-positive (classify_positive): 1 positive, 0 negative, -1 not classified.
  int positive = -1;
  // Intensity grade (classify_positive with a graded rule): 0 negative, 1, 2, 3 for 1+, 2+, 3+; -1 not graded.
  int grade = -1;
};

// Measures every object of `labels` (in ascending id order), with intensities from `image` when it is
// not null; the image must have the labels' size, and its pixel size (if any) gives area_um2.
// Returns false with a sentence in *error when the sizes differ.
bool measure_objects(const Labels& labels, const Image* image, std::vector<ObjectMeasurements>* out,
                     std::string* error);

// Adds each object's mean hematoxylin and DAB density (stains.h's stain_density, unmixed with
// `vectors`: those the run read the slide with) to `objects`, which measure_objects made from the same
// labels. On an immunohistochemistry slide the DAB density is the
// marker's amount, what a positive count reads (QuPath's "DAB OD mean"); the image's red, green and
// blue means say little of it. False with a sentence in *error when the image cannot be unmixed or
// its size is not the labels'.
bool measure_stains(const Labels& labels, const Image& rgb, const StainVectors& vectors,
                    std::vector<ObjectMeasurements>* objects, std::string* error);

// --- Marker-positive objects ------------------------------------------------------------------------
// A second channel is often imaged to count the nuclei that carry a marker (Ki-67, EdU, a reporter):
// an object is positive when its mean intensity in the marker's channel reaches a threshold, QuPath's
// positive detection with one threshold. The mean, not the maximum, so that one bright speck does not
// make a nucleus positive. On an immunohistochemistry slide the marker is a stain (DAB), and the mean
// is of its optical density (measure_stains).
//
// Intensity grades: a pathologist scores an IHC slide by how strongly each nucleus is stained as well
// as whether it is: negative, weak (1+), moderate (2+) or strong (3+), and sums them in the H-score,
// 1 x %1+ + 2 x %2+ + 3 x %3+ (0 to 300), as QuPath's positive detection does with three thresholds on
// the nuclei's mean DAB density (its defaults 0.2, 0.4, 0.6). A graded rule's `threshold` is the 1+
// one, so "positive" means 1+ or more either way.
struct PositiveRule {
  int channel = -1;           // the marker's channel, from 0; < 0: none
  double threshold = 0.0;     // positive when the object's mean of the marker is >= threshold
  Stain stain = Stain::None;  // or the marker's stain, read instead of a channel when not None
  // The 2+ and 3+ thresholds of a graded rule; NaN (the default): not graded.
  double grade_thresholds[2] = {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN()};
  bool counts() const { return channel >= 0 || stain != Stain::None; }
  bool graded() const { return !std::isnan(grade_thresholds[0]) && !std::isnan(grade_thresholds[1]); }
};

// A marker as a user or a link writes it: a channel from 0 ("1", at most 4095) or a stain's name
// ("dab", "hematoxylin"). Sets rule's channel and stain (its threshold is left alone); false for
// anything else, rule untouched.
bool parse_marker(const std::string& text, PositiveRule* rule);

// An object's mean of the rule's marker: its mean in the channel, or its mean density of the stain;
// NaN when the object has no such measurement (or the rule no marker).
double marker_mean(const ObjectMeasurements& object, const PositiveRule& rule);

// Otsu's threshold over the objects' means of the rule's marker (its threshold is not read): of the
// cuts between consecutive sorted means, the one whose two groups have the largest between-group
// variance, placed halfway between the two means it falls between. Computed on the objects themselves
// rather than on the pixels, so a few large bright nuclei weigh no more than many small dim ones. NaN
// when no cut exists (fewer than two distinct means) or the objects lack the marker.
double otsu_threshold_of_means(const std::vector<ObjectMeasurements>& objects, const PositiveRule& marker);

// Sets each object's `positive` by `rule` (-1 for all when the rule has no marker), and its `grade`
// when the rule is graded (else -1), and returns how many are positive; -1 with a sentence in *error
// when an object lacks the marker (no such channel, or stains not measured) or a graded rule's
// thresholds do not rise from 1+ to 3+ (all objects are then left unclassified).
int classify_positive(std::vector<ObjectMeasurements>* objects, const PositiveRule& rule, std::string* error);

// How many objects have each grade (0, 1+, 2+, 3+), and their H-score: 100 x the mean grade over the
// graded objects, 0 to 300; NaN when none is graded.
struct GradeCounts {
  long long objects[4] = {0, 0, 0, 0};
  double h_score = std::numeric_limits<double>::quiet_NaN();
};
GradeCounts count_grades(const std::vector<ObjectMeasurements>& objects);

}  // namespace celldrop
