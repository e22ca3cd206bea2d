// Pan/zoom math of the image viewer, as pure functions over plain data: no ImGui, no GL, no browser.
//
// Coordinates: "screen" is the page's CSS pixels (what ImGui works in); "image" is image pixels, with
// pixel (i, j) covering [i, i+1) x [j, j+1). A View maps one to the other:
//     screen = origin + image * zoom        image = (screen - origin) / zoom
// zoom is CSS pixels per image pixel. With a device pixel ratio dpr, one image pixel covers
// zoom * dpr device pixels, so "1:1" (one image pixel per screen pixel) is zoom = 1 / dpr.
#pragma once

namespace celldrop {
namespace viewer {

struct Vec2 {
  double x = 0.0;
  double y = 0.0;
};

struct Rect {  // [min, max) in screen coordinates
  Vec2 min;
  Vec2 max;
  double width() const { return max.x - min.x; }
  double height() const { return max.y - min.y; }
  Vec2 center() const { return {(min.x + max.x) * 0.5, (min.y + max.y) * 0.5}; }
  bool contains(Vec2 p) const { return p.x >= min.x && p.y >= min.y && p.x < max.x && p.y < max.y; }
};

struct View {
  Vec2 origin;        // screen position of the image's top-left corner
  double zoom = 1.0;  // CSS pixels per image pixel
};

// How far one may zoom. Out: a quarter of the fitted size (never less than needed to see a whole
// huge image). In: 64 device pixels per image pixel, enough to read single pixels of any sensor.
struct ZoomLimits {
  double min = 0.01;
  double max = 64.0;
};

Vec2 image_to_screen(const View& view, Vec2 image);
Vec2 screen_to_image(const View& view, Vec2 screen);
Rect image_rect_on_screen(const View& view, int image_width, int image_height);

// The whole image centred in the viewport, as large as fits, with `margin` CSS pixels of air on
// each side (small viewports get less margin rather than a negative size).
View fit(Rect viewport, int image_width, int image_height, double margin);
double fit_zoom(Rect viewport, int image_width, int image_height, double margin);

ZoomLimits zoom_limits(Rect viewport, int image_width, int image_height, double device_pixel_ratio);

// Multiplies the zoom by `factor` (clamped to the limits) while the image point under `anchor`
// stays under `anchor`: the behaviour of every map and microscope viewer.
View zoom_about(const View& view, Vec2 anchor, double factor, ZoomLimits limits);

// Sets an absolute zoom about an anchor, e.g. 1:1 about the viewport centre.
View zoom_to(const View& view, Vec2 anchor, double zoom, ZoomLimits limits);

View pan_by(const View& view, Vec2 delta);

// Keeps at least `keep` CSS pixels of the image inside the viewport (or the whole image when it is
// smaller than that), so a fast drag or zoom can never lose the image off-screen.
View keep_visible(const View& view, Rect viewport, int image_width, int image_height, double keep);

// The image pixel under a screen point; false when the point is outside the image.
bool pixel_under(const View& view, Vec2 screen, int image_width, int image_height, int* px, int* py);

}  // namespace viewer
}  // namespace celldrop
