// The viewer's pan/zoom math (src/app/viewer.cpp): what a person relies on without thinking about it.
// Zooming about the pointer keeps the point under it still, fitting centres the whole image, the image
// can never be lost off-screen, and the pixel under the pointer is the one drawn there.
#include "app/viewer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/rng.h"

namespace celldrop {
namespace viewer {
namespace {

constexpr double kEps = 1e-9;

// Relative comparison for screen positions that can be large after deep zooms.
void expect_near(Vec2 a, Vec2 b, const char* what) {
  const double tol = kEps * std::max({1.0, std::fabs(a.x), std::fabs(a.y)});
  EXPECT_NEAR(a.x, b.x, tol) << what;
  EXPECT_NEAR(a.y, b.y, tol) << what;
}

const Rect kViewport = {{300.0, 40.0}, {1280.0, 760.0}};  // a panel beside the sidebar, below a toolbar

TEST(Viewer, ScreenAndImageCoordinatesAreInverse) {
  const View v = {{123.5, -40.25}, 2.75};
  const Vec2 img = {10.0, 20.0};
  const Vec2 screen = image_to_screen(v, img);
  EXPECT_DOUBLE_EQ(screen.x, 123.5 + 10.0 * 2.75);
  EXPECT_DOUBLE_EQ(screen.y, -40.25 + 20.0 * 2.75);
  expect_near(screen_to_image(v, screen), img, "back to the image");
  const Rect r = image_rect_on_screen(v, 640, 480);
  EXPECT_DOUBLE_EQ(r.width(), 640 * 2.75);
  EXPECT_DOUBLE_EQ(r.height(), 480 * 2.75);
}

TEST(Viewer, FitCentresTheWholeImageAsLargeAsFits) {
  struct Case {
    int w, h;
  } cases[] = {{512, 512}, {4000, 300}, {300, 4000}, {17, 5}, {1, 1}, {100000, 20000}};
  const double margin = 16.0;
  for (const Case& c : cases) {
    const View v = fit(kViewport, c.w, c.h, margin);
    const Rect r = image_rect_on_screen(v, c.w, c.h);
    expect_near(r.center(), kViewport.center(), "centred");
    // Inside the viewport less its margins, touching them on the tighter axis.
    EXPECT_GE(r.min.x, kViewport.min.x + margin - kEps) << c.w << "x" << c.h;
    EXPECT_GE(r.min.y, kViewport.min.y + margin - kEps) << c.w << "x" << c.h;
    EXPECT_LE(r.max.x, kViewport.max.x - margin + kEps) << c.w << "x" << c.h;
    EXPECT_LE(r.max.y, kViewport.max.y - margin + kEps) << c.w << "x" << c.h;
    const bool tight_x = std::fabs(r.width() - (kViewport.width() - 2 * margin)) < 1e-6;
    const bool tight_y = std::fabs(r.height() - (kViewport.height() - 2 * margin)) < 1e-6;
    EXPECT_TRUE(tight_x || tight_y) << c.w << "x" << c.h << " is not as large as fits";
    EXPECT_NEAR(r.width() / r.height(), double(c.w) / c.h, 1e-9 * c.w / c.h) << "aspect kept";
    EXPECT_DOUBLE_EQ(v.zoom, fit_zoom(kViewport, c.w, c.h, margin));
  }
}

TEST(Viewer, FitOnATinyViewportShrinksTheMarginNotTheImage) {
  const Rect tiny = {{0.0, 0.0}, {40.0, 30.0}};  // smaller than two 48 px margins
  const View v = fit(tiny, 200, 100, 48.0);
  const Rect r = image_rect_on_screen(v, 200, 100);
  EXPECT_GT(v.zoom, 0.0);
  EXPECT_GE(r.width(), tiny.width() * 0.5 - kEps) << "at least half the viewport";
  EXPECT_GE(r.min.x, tiny.min.x - kEps);
  EXPECT_LE(r.max.x, tiny.max.x + kEps);
  expect_near(r.center(), tiny.center(), "centred");
  EXPECT_EQ(fit_zoom(tiny, 0, 100, 8.0), 1.0) << "no image: a neutral zoom, not a division by zero";
}

TEST(Viewer, ZoomAboutAPointKeepsThatPointStill) {
  Rng rng(42);
  const ZoomLimits lim = zoom_limits(kViewport, 2048, 1536, 2.0);
  View v = fit(kViewport, 2048, 1536, 16.0);
  for (int step = 0; step < 500; step++) {
    const Vec2 anchor = {kViewport.min.x + rng.uniform() * kViewport.width(),
                         kViewport.min.y + rng.uniform() * kViewport.height()};
    const double factor = std::exp((rng.uniform() - 0.5) * 2.0);  // wheel steps, in and out
    const Vec2 under = screen_to_image(v, anchor);
    const View z = zoom_about(v, anchor, factor, lim);
    expect_near(image_to_screen(z, under), anchor, "the image point under the pointer stays under it");
    EXPECT_GE(z.zoom, lim.min);
    EXPECT_LE(z.zoom, lim.max);
    if (v.zoom * factor > lim.min && v.zoom * factor < lim.max) {
      EXPECT_NEAR(z.zoom, v.zoom * factor, 1e-12 * z.zoom);
    }
    v = z;
  }
}

TEST(Viewer, ZoomInThenOutAboutTheSamePointIsUndone) {
  const ZoomLimits lim = {0.01, 64.0};
  const View v = {{310.0, 52.0}, 0.8};
  const Vec2 anchor = {777.0, 333.0};
  const View back = zoom_about(zoom_about(v, anchor, 3.5, lim), anchor, 1.0 / 3.5, lim);
  EXPECT_NEAR(back.zoom, v.zoom, 1e-12);
  expect_near(back.origin, v.origin, "origin restored");
}

TEST(Viewer, ZoomStopsAtTheLimitsWithThePointStillFixed) {
  const ZoomLimits lim = {0.25, 32.0};
  const View v = {{0.0, 0.0}, 1.0};
  const Vec2 anchor = {400.0, 300.0};
  const Vec2 under = screen_to_image(v, anchor);
  const View in = zoom_about(v, anchor, 1e6, lim);
  EXPECT_EQ(in.zoom, 32.0);
  expect_near(image_to_screen(in, under), anchor, "at the inner limit");
  const View out = zoom_about(v, anchor, 1e-6, lim);
  EXPECT_EQ(out.zoom, 0.25);
  expect_near(image_to_screen(out, under), anchor, "at the outer limit");
}

TEST(Viewer, NonsenseZoomFactorsLeaveTheViewAlone) {
  const ZoomLimits lim = {0.01, 64.0};
  const View v = {{12.0, 34.0}, 1.5};
  for (double f : {0.0, -2.0, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    const View z = zoom_about(v, {100.0, 100.0}, f, lim);
    EXPECT_EQ(z.zoom, v.zoom) << f;
    EXPECT_EQ(z.origin.x, v.origin.x) << f;
    EXPECT_EQ(z.origin.y, v.origin.y) << f;
  }
}

TEST(Viewer, ZoomToSetsOneToOneAboutTheCentre) {
  // 1:1 on a HiDPI screen (dpr 2) is half a CSS pixel per image pixel.
  const ZoomLimits lim = zoom_limits(kViewport, 4000, 3000, 2.0);
  const View v = fit(kViewport, 4000, 3000, 16.0);
  const Vec2 c = kViewport.center();
  const View one = zoom_to(v, c, 0.5, lim);
  EXPECT_EQ(one.zoom, 0.5);
  expect_near(image_to_screen(one, screen_to_image(v, c)), c, "centre kept");
}

TEST(Viewer, ZoomLimitsFollowTheDevicePixelRatio) {
  for (double dpr : {1.0, 1.5, 2.0, 3.0}) {
    const ZoomLimits lim = zoom_limits(kViewport, 1024, 1024, dpr);
    EXPECT_DOUBLE_EQ(lim.max * dpr, 64.0) << "at most 64 device pixels per image pixel, dpr " << dpr;
    EXPECT_LE(lim.min, 1.0 / dpr) << "1:1 is always reachable";
    EXPECT_LE(lim.min, fit_zoom(kViewport, 1024, 1024, 0.0) * 0.25 + kEps);
  }
  // A huge image can still be seen whole, and a bogus ratio counts as 1.
  const ZoomLimits huge = zoom_limits(kViewport, 200000, 100000, 1.0);
  EXPECT_LE(huge.min, fit_zoom(kViewport, 200000, 100000, 16.0));
  EXPECT_EQ(zoom_limits(kViewport, 100, 100, 0.0).max, 64.0);
  EXPECT_EQ(zoom_limits(kViewport, 100, 100, -1.0).max, 64.0);
}

TEST(Viewer, PanMovesTheImageByTheDrag) {
  const View v = {{10.0, 20.0}, 3.0};
  const View p = pan_by(v, {-7.5, 12.25});
  EXPECT_EQ(p.origin.x, 2.5);
  EXPECT_EQ(p.origin.y, 32.25);
  EXPECT_EQ(p.zoom, 3.0);
}

// How many screen pixels of the image overlap the viewport on each axis.
double overlap(double lo, double hi, double vlo, double vhi) { return std::min(hi, vhi) - std::max(lo, vlo); }

TEST(Viewer, KeepVisibleNeverLosesTheImage) {
  const double keep = 48.0;
  struct Case {
    int w, h;
    double zoom;
  } cases[] = {{2048, 2048, 1.0}, {2048, 2048, 8.0}, {40, 30, 0.5}, {3, 2, 4.0}};
  const Vec2 drags[] = {{1e6, 0}, {-1e6, 0}, {0, 1e6}, {0, -1e6}, {1e5, -1e5}, {-3000, 2500}};
  for (const Case& c : cases) {
    for (Vec2 d : drags) {
      const View flung = pan_by({{kViewport.min.x, kViewport.min.y}, c.zoom}, d);
      const View v = keep_visible(flung, kViewport, c.w, c.h, keep);
      const Rect r = image_rect_on_screen(v, c.w, c.h);
      const double need_x = std::min(keep, r.width()), need_y = std::min(keep, r.height());
      EXPECT_GE(overlap(r.min.x, r.max.x, kViewport.min.x, kViewport.max.x), need_x - kEps)
          << c.w << "x" << c.h << " dragged " << d.x << "," << d.y;
      EXPECT_GE(overlap(r.min.y, r.max.y, kViewport.min.y, kViewport.max.y), need_y - kEps)
          << c.w << "x" << c.h << " dragged " << d.x << "," << d.y;
      EXPECT_EQ(v.zoom, c.zoom);
    }
  }
}

TEST(Viewer, KeepVisibleLeavesAVisibleImageWhereItIs) {
  const View v = {{500.0, 100.0}, 1.0};
  const View k = keep_visible(v, kViewport, 400, 300, 48.0);
  EXPECT_EQ(k.origin.x, 500.0);
  EXPECT_EQ(k.origin.y, 100.0);
  // Partly off-screen but with more than `keep` showing: still left alone.
  const View edge = {{kViewport.max.x - 60.0, kViewport.min.y - 200.0}, 1.0};
  const View e = keep_visible(edge, kViewport, 400, 300, 48.0);
  EXPECT_EQ(e.origin.x, edge.origin.x);
  EXPECT_EQ(e.origin.y, edge.origin.y);
}

TEST(Viewer, PixelUnderThePointerIsThePixelDrawnThere) {
  const View v = {{100.25, 50.5}, 3.0};
  const int w = 20, h = 10;
  for (int y = 0; y < h; y++) {
    for (int x = 0; x < w; x++) {
      // The pixel's centre and points just inside its corners.
      for (Vec2 inside : {Vec2{0.5, 0.5}, Vec2{0.001, 0.001}, Vec2{0.999, 0.999}}) {
        const Vec2 s = image_to_screen(v, {x + inside.x, y + inside.y});
        int px = -1, py = -1;
        ASSERT_TRUE(pixel_under(v, s, w, h, &px, &py)) << x << "," << y;
        EXPECT_EQ(px, x);
        EXPECT_EQ(py, y);
      }
    }
  }
  int px = 7, py = 7;
  for (Vec2 outside : {Vec2{-0.01, 5.0}, Vec2{5.0, -0.01}, Vec2{double(w), 5.0}, Vec2{5.0, double(h) + 0.5}, Vec2{-0.5, -0.5}}) {
    EXPECT_FALSE(pixel_under(v, image_to_screen(v, outside), w, h, &px, &py)) << outside.x << "," << outside.y;
  }
  EXPECT_EQ(px, 7) << "untouched when outside";
}

}  // namespace
}  // namespace viewer
}  // namespace celldrop
