// The page's platform layer for Dear ImGui 1.86: browser events (emscripten/html5.h) in, ImGuiIO
// fields out. It takes the place of imgui_impl_glfw/sdl, whose Emscripten ports need the internet.
//
// ImGui works in CSS pixels; the canvas's backing store is CSS size x devicePixelRatio and
// io.DisplayFramebufferScale carries the ratio, so text and lines are drawn at device resolution.
#pragma once

#include <cstdint>

namespace celldrop {

struct Platform {
  const char* canvas = "#canvas";  // CSS selector of the canvas
  double device_pixel_ratio = 1.0;
  int css_width = 0;     // canvas size in CSS pixels
  int css_height = 0;
  int pixel_width = 0;   // backing store in device pixels
  int pixel_height = 0;
  double canvas_left = 0.0;  // canvas position in the page, to turn clientX/Y into canvas coordinates
  double canvas_top = 0.0;
  double last_time = 0.0;    // seconds, emscripten_get_now() / 1000 at the last frame

  // Zoom requested by wheel and pinch since the last frame, as a natural log of the factor
  // (+0.2 = zoom in by e^0.2). The viewer applies it about the pointer when the pointer is over it.
  double zoom_log = 0.0;
  // Set when the pointer position jumped without moving (a second finger landed or lifted): the
  // viewer must not read that jump as a drag.
  bool pointer_jumped = false;
  // Frames still to draw: input and resizes ask for a few, so ImGui settles (hover, release) and
  // an idle page costs nothing.
  int frames_wanted = 3;

  // Dear ImGui 1.86 samples key and button state once per frame, so a press and release that both
  // arrive between two frames (a quick tap, a scripted click) would go unseen. A release of
  // something pressed since the last frame is held back until that frame has seen it down.
  bool key_pressed_this_frame[512] = {};
  // Ctrl+Z or Cmd+Z was pressed outside a text field. Kept as a chord from the key event itself:
  // a quick press can release Ctrl before the next frame reads the modifiers.
  bool undo_pressed = false;
  // '?' was typed outside a text field, read from the key's character: where '?' sits differs by
  // keyboard layout.
  bool keys_help_pressed = false;
  bool key_release_pending[512] = {};
  // Presses of a key that came before a frame saw the key's last press and release: each plays as a
  // tap once a frame has seen the key up.
  uint8_t key_presses_queued[512] = {};
  bool button_pressed_this_frame[5] = {};
  bool button_release_pending[5] = {};

  // Touch state: up to two fingers, by identifier. last_pointer_touch: the last press came from a
  // finger, not a mouse (a text field then needs the page's own input: no keyboard shows for a canvas).
  bool last_pointer_touch = false;
  int touch_count = 0;
  long touch_id[2] = {-1, -1};
  double touch_x[2] = {0, 0};
  double touch_y[2] = {0, 0};
  double pinch_distance = 0.0;
};

// Asks for at least `n` more frames: an idle page draws nothing until something wants one, so
// whatever changes what the page shows outside a frame's input (a worker's answer, a page API call,
// a question to open) asks here.
inline void platform_want_frames(Platform* p, int n) {
  if (p->frames_wanted < n) p->frames_wanted = n;
}

// Registers the event callbacks; call once, after ImGui::CreateContext().
void platform_init(Platform* p);

// Syncs the canvas backing store with its CSS size and the device pixel ratio, and fills
// io.DisplaySize, io.DisplayFramebufferScale and io.DeltaTime. Returns true when the device pixel
// ratio changed since the last call (the caller rebuilds its fonts at the new resolution).
bool platform_new_frame(Platform* p);

// Applies the releases held back for the frame that just began; call right after ImGui::NewFrame().
void platform_after_new_frame(Platform* p);

// The CSS cursor over the canvas ("default", "grab", "crosshair", ...); cheap to call every frame.
void platform_set_cursor(const char* css_cursor);

}  // namespace celldrop
