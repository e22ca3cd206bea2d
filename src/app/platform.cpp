#include "app/platform.h"

#include <emscripten.h>
#include <emscripten/html5.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "imgui.h"

namespace celldrop {

// Canvas position in the page (it sits below the page's header line).
EM_JS(double, js_canvas_left, (const char* selector), {
  const c = document.querySelector(UTF8ToString(selector));
  return c ? c.getBoundingClientRect().left : 0;
});
EM_JS(double, js_canvas_top, (const char* selector), {
  const c = document.querySelector(UTF8ToString(selector));
  return c ? c.getBoundingClientRect().top : 0;
});
EM_JS(void, js_set_cursor, (const char* selector, const char* cursor), {
  const c = document.querySelector(UTF8ToString(selector));
  const v = UTF8ToString(cursor);
  if (c && c.style.cursor !== v) c.style.cursor = v;
});

static Platform* g_platform = nullptr;

// ImGui's key indices are DOM keyCodes (0..255); keypad Enter gets its own slot above them.
enum : int { kKeypadEnter = 256 + 13 };

static void set_modifiers(ImGuiIO& io, EM_BOOL ctrl, EM_BOOL shift, EM_BOOL alt, EM_BOOL meta) {
  io.KeyCtrl = ctrl;
  io.KeyShift = shift;
  io.KeyAlt = alt;
  io.KeySuper = meta;
}

static void want_frames() { g_platform->frames_wanted = 3; }

static void set_mouse_from_client(ImGuiIO& io, long client_x, long client_y) {
  io.MousePos = ImVec2(float(client_x - g_platform->canvas_left), float(client_y - g_platform->canvas_top));
}

static void press_button(ImGuiIO& io, int b) {
  io.MouseDown[b] = true;
  g_platform->button_pressed_this_frame[b] = true;
  g_platform->button_release_pending[b] = false;
}

static void release_button(ImGuiIO& io, int b) {
  if (g_platform->button_pressed_this_frame[b]) {
    g_platform->button_release_pending[b] = true;  // let the next frame see the press first
  } else {
    io.MouseDown[b] = false;
  }
}

static int imgui_button(unsigned short dom_button) {
  switch (dom_button) {
    case 0: return 0;  // left
    case 1: return 2;  // middle
    case 2: return 1;  // right
    default: return -1;
  }
}

static EM_BOOL on_mouse(int type, const EmscriptenMouseEvent* e, void*) {
  ImGuiIO& io = ImGui::GetIO();
  set_modifiers(io, e->ctrlKey, e->shiftKey, e->altKey, e->metaKey);
  want_frames();
  switch (type) {
    case EMSCRIPTEN_EVENT_MOUSEMOVE:
      set_mouse_from_client(io, e->clientX, e->clientY);
      return EM_FALSE;
    case EMSCRIPTEN_EVENT_MOUSEDOWN: {
      g_platform->last_pointer_touch = false;
      set_mouse_from_client(io, e->clientX, e->clientY);
      int b = imgui_button(e->button);
      if (b >= 0) press_button(io, b);
      return EM_TRUE;  // no text selection or focus change while dragging the image
    }
    case EMSCRIPTEN_EVENT_MOUSEUP: {
      int b = imgui_button(e->button);
      if (b >= 0) release_button(io, b);
      return EM_FALSE;
    }
    case EMSCRIPTEN_EVENT_MOUSELEAVE:
      // Keep the position while a drag goes on outside the canvas; otherwise nothing is hovered.
      if (!io.MouseDown[0] && !io.MouseDown[1] && !io.MouseDown[2]) io.MousePos = ImVec2(-FLT_MAX, -FLT_MAX);
      return EM_FALSE;
  }
  return EM_FALSE;
}

static EM_BOOL on_wheel(int, const EmscriptenWheelEvent* e, void*) {
  ImGuiIO& io = ImGui::GetIO();
  set_modifiers(io, e->mouse.ctrlKey, e->mouse.shiftKey, e->mouse.altKey, e->mouse.metaKey);
  set_mouse_from_client(io, e->mouse.clientX, e->mouse.clientY);
  want_frames();
  // Normalise to "notches": a mouse notch is ~100 px in pixel mode and 3 lines in line mode.
  double per_notch = e->deltaMode == DOM_DELTA_PIXEL ? 100.0 : e->deltaMode == DOM_DELTA_LINE ? 3.0 : 1.0;
  double notches_y = e->deltaY / per_notch;
  double notches_x = e->deltaX / per_notch;
  if (e->mouse.ctrlKey) {
    // Touchpad pinch arrives as ctrl+wheel with small pixel deltas; it must zoom smoothly and must
    // not reach the browser, which would zoom the whole page.
    g_platform->zoom_log += -e->deltaY * (e->deltaMode == DOM_DELTA_PIXEL ? 0.01 : 0.2);
  } else {
    g_platform->zoom_log += -notches_y * 0.2;  // one notch = x1.22
  }
  io.MouseWheel += float(-notches_y);  // panels scroll as usual
  io.MouseWheelH += float(-notches_x);
  return EM_TRUE;
}

// True when `utf8` is exactly one code point: a character to type, not a key name like "Enter".
static bool is_single_character(const char* utf8) {
  size_t n = std::strlen(utf8);
  if (n == 0) return false;
  unsigned char c = static_cast<unsigned char>(utf8[0]);
  size_t want = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  return want == n;
}

// A text field of the page itself has the keyboard (the number dialog a finger opens, web/app.js):
// its keys are typed there, and are no shortcuts of the app.
EM_JS(int, html_field_focused, (), {
  const e = document.activeElement;
  return e && ((e.tagName === 'INPUT' && e.type !== 'file') || e.tagName === 'TEXTAREA' || e.isContentEditable) ? 1 : 0;
});

static EM_BOOL on_key(int type, const EmscriptenKeyboardEvent* e, void*) {
  if (html_field_focused()) return EM_FALSE;
  ImGuiIO& io = ImGui::GetIO();
  set_modifiers(io, e->ctrlKey, e->shiftKey, e->altKey, e->metaKey);
  want_frames();
  int key = int(e->keyCode);
  if (key == 13 && e->location == DOM_KEY_LOCATION_NUMPAD) key = kKeypadEnter;
  bool down = type == EMSCRIPTEN_EVENT_KEYDOWN;
  if (key >= 0 && key < int(IM_ARRAYSIZE(io.KeysDown))) {
    Platform* p = g_platform;
    const bool unseen = p->key_pressed_this_frame[key] || p->key_presses_queued[key] > 0 ||
                        (io.KeysDownDuration[key] >= 0.0f && !io.KeysDown[key]);
    if (down && !e->repeat && unseen) {
      // Pressed again before a frame saw the last press and its release (U U, a quick double tap):
      // ImGui would read one long press. The new press waits, and plays as a tap once a frame has
      // seen the key up (platform_after_new_frame).
      if (p->key_presses_queued[key] < 8) p->key_presses_queued[key]++;
    } else if (down) {
      io.KeysDown[key] = true;
      p->key_pressed_this_frame[key] = true;
      p->key_release_pending[key] = false;
    } else if (p->key_presses_queued[key] > 0) {
      // The queued press's release: it plays as a tap anyway.
    } else if (p->key_pressed_this_frame[key]) {
      p->key_release_pending[key] = true;  // let the next frame see the press first
    } else {
      io.KeysDown[key] = false;
    }
  }
  bool typing = io.WantTextInput;
  if (down && !typing && key == 'Z' && (e->ctrlKey || e->metaKey) && !e->shiftKey && !e->altKey) g_platform->undo_pressed = true;
  if (down && !typing && !e->ctrlKey && !e->metaKey && std::strcmp(e->key, "?") == 0) g_platform->keys_help_pressed = true;
  if (down && typing && !e->ctrlKey && !e->metaKey && is_single_character(e->key)) io.AddInputCharactersUTF8(e->key);
  // Only a text field that is being edited keeps keys from the browser (Tab, Backspace, ...);
  // everything else, browser shortcuts included, behaves as on any page.
  return typing ? EM_TRUE : EM_FALSE;
}

static EM_BOOL on_focus(int type, const EmscriptenFocusEvent*, void*) {
  ImGuiIO& io = ImGui::GetIO();
  bool focused = type == EMSCRIPTEN_EVENT_FOCUS;
  io.AddFocusEvent(focused);
  if (!focused) {
    // Releases that happen while the page is in the background never arrive: forget held keys and
    // buttons rather than leave them stuck down.
    std::memset(io.KeysDown, 0, sizeof(io.KeysDown));
    for (bool& b : io.MouseDown) b = false;
    set_modifiers(io, false, false, false, false);
  }
  want_frames();
  return EM_FALSE;
}

// One finger drags like the left mouse button; two fingers pan with their midpoint and zoom with
// their spread.
static EM_BOOL on_touch(int type, const EmscriptenTouchEvent* e, void*) {
  ImGuiIO& io = ImGui::GetIO();
  Platform* p = g_platform;
  bool ending = type == EMSCRIPTEN_EVENT_TOUCHEND || type == EMSCRIPTEN_EVENT_TOUCHCANCEL;
  int n = 0;
  long ids[2];
  double xs[2], ys[2];
  for (int i = 0; i < e->numTouches && n < 2; i++) {
    const EmscriptenTouchPoint& t = e->touches[i];
    if (ending && t.isChanged) continue;  // this finger just lifted
    ids[n] = t.identifier;
    xs[n] = double(t.clientX) - p->canvas_left;
    ys[n] = double(t.clientY) - p->canvas_top;
    n++;
  }
  bool same_fingers = n == p->touch_count && (n < 1 || ids[0] == p->touch_id[0]) && (n < 2 || ids[1] == p->touch_id[1]);
  if (!same_fingers) p->pointer_jumped = true;
  if (n == 2) {
    double d = std::hypot(xs[1] - xs[0], ys[1] - ys[0]);
    if (same_fingers && p->pinch_distance > 0.0 && d > 0.0) p->zoom_log += std::log(d / p->pinch_distance);
    p->pinch_distance = d;
    io.MousePos = ImVec2(float((xs[0] + xs[1]) * 0.5), float((ys[0] + ys[1]) * 0.5));
  } else {
    p->pinch_distance = 0.0;
    if (n == 1) io.MousePos = ImVec2(float(xs[0]), float(ys[0]));
  }
  if (n > 0 && !io.MouseDown[0]) press_button(io, 0);
  if (n > 0) p->last_pointer_touch = true;
  if (n == 0 && io.MouseDown[0]) release_button(io, 0);
  p->touch_count = n;
  for (int i = 0; i < n; i++) {
    p->touch_id[i] = ids[i];
    p->touch_x[i] = xs[i];
    p->touch_y[i] = ys[i];
  }
  want_frames();
  return EM_TRUE;  // no page scroll or browser zoom under the fingers
}

void platform_init(Platform* p) {
  g_platform = p;
  ImGuiIO& io = ImGui::GetIO();
  io.BackendPlatformName = "celldrop_html5";
  io.IniFilename = nullptr;  // nothing is written anywhere: no layout file either
  io.BackendFlags |= ImGuiBackendFlags_HasMouseCursors;
  const int map[][2] = {
      {ImGuiKey_Tab, 9}, {ImGuiKey_LeftArrow, 37}, {ImGuiKey_RightArrow, 39}, {ImGuiKey_UpArrow, 38},
      {ImGuiKey_DownArrow, 40}, {ImGuiKey_PageUp, 33}, {ImGuiKey_PageDown, 34}, {ImGuiKey_Home, 36},
      {ImGuiKey_End, 35}, {ImGuiKey_Insert, 45}, {ImGuiKey_Delete, 46}, {ImGuiKey_Backspace, 8},
      {ImGuiKey_Space, 32}, {ImGuiKey_Enter, 13}, {ImGuiKey_Escape, 27}, {ImGuiKey_KeyPadEnter, kKeypadEnter},
      {ImGuiKey_A, 'A'}, {ImGuiKey_C, 'C'}, {ImGuiKey_V, 'V'}, {ImGuiKey_X, 'X'}, {ImGuiKey_Y, 'Y'},
      {ImGuiKey_Z, 'Z'}};
  for (const auto& m : map) io.KeyMap[m[0]] = m[1];

  const char* c = p->canvas;
  const char* doc = EMSCRIPTEN_EVENT_TARGET_DOCUMENT;
  emscripten_set_mousedown_callback(c, nullptr, true, on_mouse);
  emscripten_set_mouseleave_callback(c, nullptr, true, on_mouse);
  // Moves and releases are watched on the whole document so a drag that leaves the canvas ends.
  emscripten_set_mousemove_callback(doc, nullptr, true, on_mouse);
  emscripten_set_mouseup_callback(doc, nullptr, true, on_mouse);
  emscripten_set_wheel_callback(c, nullptr, false, on_wheel);
  emscripten_set_keydown_callback(doc, nullptr, true, on_key);
  emscripten_set_keyup_callback(doc, nullptr, true, on_key);
  emscripten_set_focus_callback(EMSCRIPTEN_EVENT_TARGET_WINDOW, nullptr, true, on_focus);
  emscripten_set_blur_callback(EMSCRIPTEN_EVENT_TARGET_WINDOW, nullptr, true, on_focus);
  emscripten_set_touchstart_callback(c, nullptr, false, on_touch);
  emscripten_set_touchmove_callback(c, nullptr, false, on_touch);
  emscripten_set_touchend_callback(c, nullptr, false, on_touch);
  emscripten_set_touchcancel_callback(c, nullptr, false, on_touch);
  p->last_time = emscripten_get_now() / 1000.0;
}

bool platform_new_frame(Platform* p) {
  ImGuiIO& io = ImGui::GetIO();
  double css_w = 0, css_h = 0;
  emscripten_get_element_css_size(p->canvas, &css_w, &css_h);
  double dpr = emscripten_get_device_pixel_ratio();
  if (!(dpr > 0.0)) dpr = 1.0;
  bool dpr_changed = dpr != p->device_pixel_ratio;
  int pw = int(std::lround(css_w * dpr)), ph = int(std::lround(css_h * dpr));
  if (pw != p->pixel_width || ph != p->pixel_height || dpr_changed) {
    emscripten_set_canvas_element_size(p->canvas, pw, ph);
    p->pixel_width = pw;
    p->pixel_height = ph;
    p->frames_wanted = 3;
  }
  p->device_pixel_ratio = dpr;
  p->css_width = int(std::lround(css_w));
  p->css_height = int(std::lround(css_h));
  p->canvas_left = js_canvas_left(p->canvas);
  p->canvas_top = js_canvas_top(p->canvas);

  io.DisplaySize = ImVec2(float(css_w), float(css_h));
  io.DisplayFramebufferScale = ImVec2(float(dpr), float(dpr));
  double now = emscripten_get_now() / 1000.0;
  double dt = now - p->last_time;
  io.DeltaTime = float(dt > 1e-5 ? dt : 1e-5);  // ImGui asserts on zero; frames may be far apart when idle
  p->last_time = now;
  return dpr_changed;
}

void platform_after_new_frame(Platform* p) {
  ImGuiIO& io = ImGui::GetIO();
  for (int k = 0; k < 512; k++) {
    if (p->key_release_pending[k]) {
      io.KeysDown[k] = false;
      platform_want_frames(p, 2);  // a frame must see the release too
    }
    p->key_release_pending[k] = false;
    p->key_pressed_this_frame[k] = false;
    if (p->key_presses_queued[k] > 0 && !io.KeysDown[k] && io.KeysDownDuration[k] < 0.0f) {
      // This frame saw the key up: the next one sees a queued press, the one after its release.
      io.KeysDown[k] = true;
      p->key_pressed_this_frame[k] = true;
      p->key_release_pending[k] = true;
      p->key_presses_queued[k]--;
      platform_want_frames(p, 2);
    } else if (p->key_presses_queued[k] > 0) {
      platform_want_frames(p, 2);  // a frame must see the key up first
    }
  }
  for (int b = 0; b < 5; b++) {
    if (p->button_release_pending[b]) {
      io.MouseDown[b] = false;
      platform_want_frames(p, 2);
    }
    p->button_release_pending[b] = false;
    p->button_pressed_this_frame[b] = false;
  }
}

void platform_set_cursor(const char* css_cursor) { js_set_cursor(g_platform->canvas, css_cursor); }

}  // namespace celldrop
