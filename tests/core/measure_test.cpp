#include "core/measure.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "stain_mix.h"

namespace celldrop {
namespace {

const double kPi = 3.14159265358979323846;
const double kSqrt2 = std::sqrt(2.0);
const double kKulpa = kPi * (1 + kSqrt2) / 8;  // see measure.h

void rect(Labels& l, int x0, int y0, int x1, int y1, uint32_t id) {  // [x0,x1) x [y0,y1)
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) l.at(x, y) = id;
}

std::vector<ObjectMeasurements> measure(const Labels& l, const Image* img = nullptr) {
  std::vector<ObjectMeasurements> m;
  std::string error;
  EXPECT_TRUE(measure_objects(l, img, &m, &error)) << error;
  return m;
}

TEST(Measure, RectangleByHand) {
  // 5 x 3 rectangle at columns 2..6, rows 1..3; image channel 0 = x + 10 y, channel 1 = 7.
  Labels l = make_labels(10, 6);
  rect(l, 2, 1, 7, 4, 4);
  Image img = make_image(10, 6, 2, SampleType::U16);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 10; ++x) {
      samples<uint16_t>(img)[(y * 10 + x) * 2] = uint16_t(x + 10 * y);
      samples<uint16_t>(img)[(y * 10 + x) * 2 + 1] = 7;
    }
  img.pixel_size_x_um = 0.5;
  img.pixel_size_y_um = 0.25;
  auto m = measure(l, &img);
  ASSERT_EQ(m.size(), 1u);
  const ObjectMeasurements& r = m[0];
  EXPECT_EQ(r.id, 4u);
  EXPECT_EQ(r.area_px, 15);
  EXPECT_DOUBLE_EQ(r.area_um2, 15 * 0.125);
  EXPECT_DOUBLE_EQ(r.centroid_x, 4.0);
  EXPECT_DOUBLE_EQ(r.centroid_y, 2.0);
  EXPECT_EQ(r.bbox_x0, 2);
  EXPECT_EQ(r.bbox_y0, 1);
  EXPECT_EQ(r.bbox_x1, 7);
  EXPECT_EQ(r.bbox_y1, 4);
  const double perimeter = kKulpa * (2 * 4 + 2 * 2 + 2 * kSqrt2);  // straight runs, 4 corner cuts
  EXPECT_NEAR(r.perimeter_px, perimeter, 1e-12);
  EXPECT_NEAR(r.circularity, 4 * kPi * 15 / (perimeter * perimeter), 1e-12);
  // Pixel-centre variances: (5^2 - 1) / 12 = 2 across, (3^2 - 1) / 12 = 2/3 down.
  EXPECT_NEAR(r.eccentricity, std::sqrt(1 - (2.0 / 3.0) / 2.0), 1e-12);
  ASSERT_EQ(r.mean.size(), 2u);
  EXPECT_DOUBLE_EQ(r.mean[0], 4 + 10 * 2);
  EXPECT_DOUBLE_EQ(r.min[0], 2 + 10 * 1);
  EXPECT_DOUBLE_EQ(r.max[0], 6 + 10 * 3);
  EXPECT_DOUBLE_EQ(r.integrated[0], 15 * 24);
  EXPECT_DOUBLE_EQ(r.mean[1], 7);
  EXPECT_DOUBLE_EQ(r.integrated[1], 105);
}

TEST(Measure, DiskAgreesWithTheory) {
  const int R = 30;
  Labels l = make_labels(80, 70);
  for (int y = 0; y < 70; ++y)
    for (int x = 0; x < 80; ++x)
      if ((x - 40) * (x - 40) + (y - 33) * (y - 33) <= R * R) l.at(x, y) = 1;
  auto m = measure(l);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_NEAR(double(m[0].area_px), kPi * R * R, 0.01 * kPi * R * R);
  EXPECT_DOUBLE_EQ(m[0].centroid_x, 40.0);  // symmetric
  EXPECT_DOUBLE_EQ(m[0].centroid_y, 33.0);
  const double circumference = 2 * std::sqrt(kPi * double(m[0].area_px));  // of the equal-area disk
  EXPECT_NEAR(m[0].perimeter_px, circumference, 0.015 * circumference);
  EXPECT_GT(m[0].circularity, 0.97);
  EXPECT_LT(m[0].eccentricity, 0.05);
  EXPECT_TRUE(m[0].mean.empty());
  EXPECT_DOUBLE_EQ(m[0].area_um2, 0.0);
}

TEST(Measure, NeighboursHolesAndTinyObjects) {
  Labels l = make_labels(12, 8);
  rect(l, 1, 1, 4, 4, 2);   // 3x3 ...
  rect(l, 4, 1, 7, 4, 9);   // ... touching a second 3x3
  rect(l, 8, 1, 11, 6, 5);  // 3x5 with a one-pixel hole
  l.at(9, 3) = 0;
  l.at(1, 6) = 3;           // a single pixel
  for (int x = 3; x < 7; ++x) l.at(x, 6) = 7;  // a 4-pixel line
  auto m = measure(l);
  ASSERT_EQ(m.size(), 5u);
  const double square = kKulpa * (2 * 2 + 2 * 2 + 2 * kSqrt2);
  EXPECT_EQ(m[0].id, 2u);
  EXPECT_NEAR(m[0].perimeter_px, square, 1e-12);  // the neighbour does not shorten it
  EXPECT_EQ(m[4].id, 9u);
  EXPECT_NEAR(m[4].perimeter_px, square, 1e-12);
  EXPECT_EQ(m[2].id, 5u);  // outer contour of a 3x5 plus the hole's diamond (4 corner cuts)
  EXPECT_EQ(m[2].area_px, 14);
  EXPECT_NEAR(m[2].perimeter_px, kKulpa * ((2 * 2 + 2 * 4 + 2 * kSqrt2) + 2 * kSqrt2), 1e-12);
  EXPECT_EQ(m[1].id, 3u);  // single pixel: a diamond of four corner cuts
  EXPECT_NEAR(m[1].perimeter_px, kKulpa * 2 * kSqrt2, 1e-12);
  EXPECT_DOUBLE_EQ(m[1].circularity, 1.0);  // capped
  EXPECT_DOUBLE_EQ(m[1].eccentricity, 0.0);
  EXPECT_EQ(m[3].id, 7u);
  EXPECT_NEAR(m[3].eccentricity, 1.0, 1e-12);  // a line
  EXPECT_NEAR(m[3].perimeter_px, kKulpa * (2 * 3 + 2 * kSqrt2), 1e-12);
}

TEST(Measure, RejectsAnImageOfAnotherSize) {
  Labels l = make_labels(4, 4);
  Image img = make_image(5, 4, 1, SampleType::U8);
  std::vector<ObjectMeasurements> m;
  std::string error;
  EXPECT_FALSE(measure_objects(l, &img, &m, &error));
  EXPECT_NE(error.find("5x4"), std::string::npos) << error;
  EXPECT_TRUE(measure(make_labels(3, 3)).empty());
}

// Objects with only their channel means set, as classification reads them.
std::vector<ObjectMeasurements> with_means(const std::vector<std::vector<double>>& means) {
  std::vector<ObjectMeasurements> objects(means.size());
  for (size_t i = 0; i < means.size(); ++i) {
    objects[i].id = uint32_t(i + 1);
    objects[i].mean = means[i];
  }
  return objects;
}

TEST(Measure, OtsuSplitsTheObjectsMeansWhereTheGroupsDifferMost) {
  // Three dim nuclei and two bright ones in channel 1: the cut lies halfway between 12 and 100.
  auto objects = with_means({{5, 10}, {5, 12}, {5, 100}, {5, 11}, {5, 110}});
  EXPECT_DOUBLE_EQ(otsu_threshold_of_means(objects, {1}), 56.0);
  // One far brighter nucleus makes a group of its own, as Otsu does: a threshold to check by eye.
  objects[4].mean[1] = 400;
  EXPECT_DOUBLE_EQ(otsu_threshold_of_means(objects, {1}), 250.0);
  // By hand for 1, 2, 10, 11: cuts after 1 value: 1*3*(23/3 - 1)^2 = 133.3; after 2: 2*2*(10.5 - 1.5)^2
  // = 324; after 3: 3*1*(11 - 13/3)^2 = 133.3. The middle cut wins: halfway between 2 and 10.
  EXPECT_DOUBLE_EQ(otsu_threshold_of_means(with_means({{10}, {1}, {11}, {2}}), {0}), 6.0);
  // No cut: one object, all means equal, no such channel.
  EXPECT_TRUE(std::isnan(otsu_threshold_of_means(with_means({{3}}), {0})));
  EXPECT_TRUE(std::isnan(otsu_threshold_of_means(with_means({{3}, {3}, {3}}), {0})));
  EXPECT_TRUE(std::isnan(otsu_threshold_of_means(objects, {2})));
  EXPECT_TRUE(std::isnan(otsu_threshold_of_means(objects, {-1})));
}

TEST(Measure, ClassifyPositiveMarksObjectsAtOrAboveTheThreshold) {
  auto objects = with_means({{5, 10}, {5, 56}, {5, 100}});
  std::string error;
  EXPECT_EQ(classify_positive(&objects, {1, 56.0}, &error), 2);
  EXPECT_EQ(objects[0].positive, 0);
  EXPECT_EQ(objects[1].positive, 1);  // at the threshold counts
  EXPECT_EQ(objects[2].positive, 1);
  EXPECT_EQ(classify_positive(&objects, {0, 6.0}, &error), 0);
  EXPECT_EQ(objects[2].positive, 0);
  // No rule: nothing classified.
  EXPECT_EQ(classify_positive(&objects, PositiveRule(), &error), 0);
  for (const ObjectMeasurements& m : objects) EXPECT_EQ(m.positive, -1);
  // A channel the image lacks is an error that leaves nothing half classified.
  classify_positive(&objects, {1, 50.0}, &error);
  EXPECT_EQ(classify_positive(&objects, {2, 50.0}, &error), -1);
  EXPECT_NE(error.find("2 channels"), std::string::npos) << error;
  for (const ObjectMeasurements& m : objects) EXPECT_EQ(m.positive, -1);
}


// An immunohistochemistry slide in 16-bit RGB: a nucleus of hematoxylin alone and one stained brown by
// a marker too, each of two halves with different amounts, on white with a brown DAB blob between them.
TEST(Measure, StainsAreEachObjectsMeanDensity) {
  Labels l = make_labels(12, 4);
  rect(l, 0, 0, 4, 4, 2);
  rect(l, 8, 0, 12, 4, 5);
  Image rgb = make_image(12, 4, 3, SampleType::U16);
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 12; ++x) {
      const bool top = y < 2;
      double h = 0.0, d = x >= 5 && x < 7 ? 0.9 : 0.0;  // the blob lies in no object
      if (x < 4) h = top ? 0.2 : 0.4;                   // means: hematoxylin 0.3, DAB 0
      if (x >= 8) {  // means: hematoxylin 0.2, DAB 0.4
        h = top ? 0.1 : 0.3;
        d = top ? 0.3 : 0.5;
      }
      mix_stains<uint16_t>(h, d, samples<uint16_t>(rgb) + (size_t(y) * 12 + size_t(x)) * 3);
    }
  }
  std::vector<ObjectMeasurements> m = measure(l, &rgb);
  EXPECT_TRUE(std::isnan(m[0].dab_od));  // not measured until asked
  std::string error;
  ASSERT_TRUE(measure_stains(l, rgb, StainVectors{}, &m, &error)) << error;
  EXPECT_NEAR(m[0].hematoxylin_od, 0.3, 1e-3);
  EXPECT_NEAR(m[0].dab_od, 0.0, 1e-3);
  EXPECT_NEAR(m[1].hematoxylin_od, 0.2, 1e-3);
  EXPECT_NEAR(m[1].dab_od, 0.4, 1e-3);

  // DAB as the marker: Otsu cuts halfway, and the brown nucleus alone is positive.
  PositiveRule dab;
  dab.stain = Stain::Dab;
  EXPECT_DOUBLE_EQ(marker_mean(m[1], dab), m[1].dab_od);
  dab.threshold = otsu_threshold_of_means(m, dab);
  EXPECT_NEAR(dab.threshold, 0.2, 1e-3);
  EXPECT_EQ(classify_positive(&m, dab, &error), 1);
  EXPECT_EQ(m[0].positive, 0);
  EXPECT_EQ(m[1].positive, 1);

  // Objects whose stains were not measured cannot be classified by one; a grey image has no stains.
  std::vector<ObjectMeasurements> plain = measure(l, &rgb);
  EXPECT_TRUE(std::isnan(otsu_threshold_of_means(plain, dab)));
  EXPECT_EQ(classify_positive(&plain, dab, &error), -1);
  EXPECT_NE(error.find("no DAB density"), std::string::npos) << error;
  Image grey = make_image(12, 4, 1, SampleType::U16);
  EXPECT_FALSE(measure_stains(l, grey, StainVectors{}, &plain, &error));
  EXPECT_FALSE(measure_stains(make_labels(3, 3), rgb, StainVectors{}, &plain, &error));
  EXPECT_NE(error.find("3x3"), std::string::npos) << error;
}

TEST(Measure, StainMeansAreThoseOfTheDensityImages) {
  // measure_stains unmixes a run of pixels at a time; on a slide larger than one run, with objects
  // across the runs' seams and another lab's colours, its means are those of stain_density's images.
  const int w = 301, h = 170;
  Labels l = make_labels(w, h);
  rect(l, 0, 0, w, 40, 1);      // rows 0..39: the first 12040 pixels
  rect(l, 10, 50, 290, 70, 2);  // rows 50..69 hold pixel 16384, the first run's end
  rect(l, 100, 100, 120, 170, 3);
  Image rgb = make_image(w, h, 4, SampleType::U8);
  const double hv[3] = {0.55, 0.75, 0.36}, dv[3] = {0.35, 0.56, 0.75};
  uint8_t* p = samples<uint8_t>(rgb);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x, p += 4) {
      mix_stains_of<uint8_t>(hv, dv, 0.004 * (x % 97), 0.01 * (y % 53), p);
      p[3] = uint8_t(x);  // alpha, left out
    }
  StainVectors lab;
  std::copy(hv, hv + 3, lab.hematoxylin);
  std::copy(dv, dv + 3, lab.dab);
  std::vector<ObjectMeasurements> m = measure(l, &rgb);
  std::string error;
  ASSERT_TRUE(measure_stains(l, rgb, lab, &m, &error)) << error;
  Image hd, dd;
  ASSERT_TRUE(stain_density(rgb, Stain::Hematoxylin, lab, &hd, &error)) << error;
  ASSERT_TRUE(stain_density(rgb, Stain::Dab, lab, &dd, &error)) << error;
  for (size_t o = 0; o < m.size(); ++o) {
    double sh = 0, sd = 0;
    long long n = 0;
    for (size_t i = 0; i < l.data.size(); ++i)
      if (l.data[i] == m[o].id) sh += samples<float>(hd)[i], sd += samples<float>(dd)[i], ++n;
    EXPECT_NEAR(m[o].hematoxylin_od, sh / double(n), 1e-9) << "object " << m[o].id;
    EXPECT_NEAR(m[o].dab_od, sd / double(n), 1e-9) << "object " << m[o].id;
  }
  // And the mix is read back: DAB 0.01 (y mod 53) averages 0.195 over rows 0..39, 0.1445 over 50..69.
  EXPECT_NEAR(m[0].dab_od, 0.195, 0.005);
  EXPECT_NEAR(m[1].dab_od, 0.1445, 0.005);
}

TEST(Measure, GradesAndHScore) {
  // Eight objects whose mean DAB densities are given: QuPath's thresholds 0.2, 0.4, 0.6 grade them.
  const double dab[8] = {0.05, 0.1, 0.19, 0.2, 0.39, 0.45, 0.6, 1.2};
  std::vector<ObjectMeasurements> m(8);
  for (int i = 0; i < 8; ++i) m[size_t(i)].id = uint32_t(i + 1), m[size_t(i)].dab_od = dab[i];
  PositiveRule rule;
  rule.stain = Stain::Dab;
  rule.threshold = 0.2;
  std::string error;
  EXPECT_EQ(classify_positive(&m, rule, &error), 5);
  EXPECT_EQ(m[3].grade, -1);  // one threshold: positive or not, no grades
  EXPECT_TRUE(std::isnan(count_grades(m).h_score));
  rule.grade_thresholds[0] = 0.4;
  rule.grade_thresholds[1] = 0.6;
  ASSERT_TRUE(rule.graded());
  EXPECT_EQ(classify_positive(&m, rule, &error), 5);
  const int expected[8] = {0, 0, 0, 1, 1, 2, 3, 3};  // a mean equal to a threshold takes its grade
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(m[size_t(i)].grade, expected[i]) << "object " << i + 1;
    EXPECT_EQ(m[size_t(i)].positive, expected[i] > 0 ? 1 : 0) << "object " << i + 1;
  }
  const GradeCounts c = count_grades(m);
  EXPECT_EQ(c.objects[0], 3);
  EXPECT_EQ(c.objects[1], 2);
  EXPECT_EQ(c.objects[2], 1);
  EXPECT_EQ(c.objects[3], 2);
  EXPECT_DOUBLE_EQ(c.h_score, 100.0 * (2 * 1 + 1 * 2 + 2 * 3) / 8);  // 125: 1 x 25% + 2 x 12.5% + 3 x 25%

  // Thresholds that do not rise are refused, and leave every object unclassified.
  rule.grade_thresholds[0] = 0.1;
  EXPECT_EQ(classify_positive(&m, rule, &error), -1);
  EXPECT_NE(error.find("must rise from 1+ to 3+, not 0.2, 0.1, 0.6"), std::string::npos) << error;
  for (const ObjectMeasurements& o : m) EXPECT_TRUE(o.positive == -1 && o.grade == -1);
  // Classified again by one threshold, the grades are gone.
  rule.grade_thresholds[0] = rule.grade_thresholds[1] = std::nan("");
  EXPECT_EQ(classify_positive(&m, rule, &error), 5);
  EXPECT_EQ(m[7].grade, -1);
}

TEST(Measure, MarkersAreAChannelOrAStainByName) {
  PositiveRule rule;
  rule.threshold = 0.5;
  ASSERT_TRUE(parse_marker("2", &rule));
  EXPECT_EQ(rule.channel, 2);
  EXPECT_EQ(rule.stain, Stain::None);
  ASSERT_TRUE(parse_marker("DAB", &rule));
  EXPECT_EQ(rule.channel, -1);
  EXPECT_EQ(rule.stain, Stain::Dab);
  EXPECT_EQ(rule.threshold, 0.5);  // the threshold is not the marker's
  ASSERT_TRUE(parse_marker("4095", &rule));
  for (const char* bad : {"", "-1", "4096", "1.5", "1x", "eosin", "dab1"}) {
    EXPECT_FALSE(parse_marker(bad, &rule)) << bad;
    EXPECT_EQ(rule.channel, 4095) << "left untouched: " << bad;
  }
}

}  // namespace
}  // namespace celldrop
