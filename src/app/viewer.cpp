#include "app/viewer.h"

#include <algorithm>
#include <cmath>

namespace celldrop {
namespace viewer {

Vec2 image_to_screen(const View& view, Vec2 image) {
  return {view.origin.x + image.x * view.zoom, view.origin.y + image.y * view.zoom};
}

Vec2 screen_to_image(const View& view, Vec2 screen) {
  return {(screen.x - view.origin.x) / view.zoom, (screen.y - view.origin.y) / view.zoom};
}

Rect image_rect_on_screen(const View& view, int image_width, int image_height) {
  return {view.origin, image_to_screen(view, {double(image_width), double(image_height)})};
}

double fit_zoom(Rect viewport, int image_width, int image_height, double margin) {
  if (image_width <= 0 || image_height <= 0) return 1.0;
  // Margins shrink on small viewports so the image always keeps at least half of each side.
  double mx = std::min(margin, viewport.width() * 0.25);
  double my = std::min(margin, viewport.height() * 0.25);
  double w = std::max(1.0, viewport.width() - 2.0 * mx);
  double h = std::max(1.0, viewport.height() - 2.0 * my);
  return std::min(w / image_width, h / image_height);
}

View fit(Rect viewport, int image_width, int image_height, double margin) {
  View v;
  v.zoom = fit_zoom(viewport, image_width, image_height, margin);
  Vec2 c = viewport.center();
  v.origin = {c.x - image_width * v.zoom * 0.5, c.y - image_height * v.zoom * 0.5};
  return v;
}

ZoomLimits zoom_limits(Rect viewport, int image_width, int image_height, double device_pixel_ratio) {
  double dpr = device_pixel_ratio > 0.0 ? device_pixel_ratio : 1.0;
  ZoomLimits lim;
  lim.max = 64.0 / dpr;
  lim.min = std::min(fit_zoom(viewport, image_width, image_height, 0.0) * 0.25, 1.0 / dpr);
  lim.min = std::min(lim.min, lim.max);
  return lim;
}

View zoom_to(const View& view, Vec2 anchor, double zoom, ZoomLimits limits) {
  double z = std::clamp(zoom, limits.min, limits.max);
  if (!(z > 0.0) || !std::isfinite(z)) return view;
  Vec2 img = screen_to_image(view, anchor);  // the image point that must stay put
  View v;
  v.zoom = z;
  v.origin = {anchor.x - img.x * z, anchor.y - img.y * z};
  return v;
}

View zoom_about(const View& view, Vec2 anchor, double factor, ZoomLimits limits) {
  if (!(factor > 0.0) || !std::isfinite(factor)) return view;
  return zoom_to(view, anchor, view.zoom * factor, limits);
}

View pan_by(const View& view, Vec2 delta) {
  View v = view;
  v.origin.x += delta.x;
  v.origin.y += delta.y;
  return v;
}

// One axis of keep_visible: [lo, hi) is the image's extent, [vlo, vhi) the viewport's.
static double clamp_axis(double origin, double extent, double vlo, double vhi, double keep) {
  double k = std::min(keep, extent);
  double lowest = vlo + k - extent;  // image almost gone past the low edge
  double highest = vhi - k;          // image almost gone past the high edge
  if (lowest > highest) return origin;  // viewport narrower than `keep`: nothing sensible to enforce
  return std::clamp(origin, lowest, highest);
}

View keep_visible(const View& view, Rect viewport, int image_width, int image_height, double keep) {
  View v = view;
  v.origin.x = clamp_axis(v.origin.x, image_width * v.zoom, viewport.min.x, viewport.max.x, keep);
  v.origin.y = clamp_axis(v.origin.y, image_height * v.zoom, viewport.min.y, viewport.max.y, keep);
  return v;
}

bool pixel_under(const View& view, Vec2 screen, int image_width, int image_height, int* px, int* py) {
  Vec2 p = screen_to_image(view, screen);
  double fx = std::floor(p.x), fy = std::floor(p.y);
  if (!(fx >= 0.0 && fy >= 0.0 && fx < image_width && fy < image_height)) return false;
  *px = int(fx);
  *py = int(fy);
  return true;
}

}  // namespace viewer
}  // namespace celldrop
