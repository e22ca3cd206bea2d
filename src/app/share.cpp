#include "app/share.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/json_writer.h"
#include "core/measure.h"

namespace celldrop {

static constexpr const char* kMarker = "celldrop";  // the first key, and the link format's version
static constexpr const char* kFormat = "1";
static constexpr size_t kMaxOutlinePoints = 4096;  // a drawn outline in a link; more is a damaged link

std::string percent_encode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                c == '_' || c == '~';
    if (keep) {
      out += char(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool percent_decode(const std::string& text, std::string* out) {
  out->clear();
  for (size_t i = 0; i < text.size(); i++) {
    if (text[i] == '%') {
      if (i + 2 >= text.size()) return false;
      int hi = hex_digit(text[i + 1]), lo = hex_digit(text[i + 2]);
      if (hi < 0 || lo < 0) return false;
      *out += char(hi * 16 + lo);
      i += 2;
    } else if (text[i] == '+') {
      *out += ' ';  // form encoding, as URLSearchParams writes spaces
    } else {
      *out += text[i];
    }
  }
  return true;
}

std::string share_fragment(const ShareState& s) {
  std::string out = std::string(kMarker) + "=" + kFormat;
  auto add = [&](const std::string& key, const std::string& value) {
    if (!value.empty()) out += "&" + percent_encode(key) + "=" + percent_encode(value);
  };
  add("app", s.app_version);
  add("model", s.model);
  add("model_sha256", s.model_sha256);
  add("backend", s.backend);
  add("image_sha256", s.image_sha256);
  add("image_page", s.image_page > 0 ? std::to_string(s.image_page) : "");
  add("image_name", s.image_name);
  add("image", s.image_url);
  add("pixel_size_um", s.pixel_size_um > 0 ? json_number(s.pixel_size_um) : "");
  if (s.positive_channel >= 0 || s.positive_stain != Stain::None) {
    const bool graded = !std::isnan(s.positive_threshold) && !std::isnan(s.positive_grades[0]) && !std::isnan(s.positive_grades[1]);
    add("positive", (s.positive_stain != Stain::None ? stain_name(s.positive_stain) : std::to_string(s.positive_channel)) +
                        (std::isnan(s.positive_threshold) ? "" : ":" + json_number(s.positive_threshold)) +
                        (graded ? "," + json_number(s.positive_grades[0]) + "," + json_number(s.positive_grades[1]) : ""));
  }
  for (const auto& [key, value] : s.params) add("p." + key, value);
  std::string edits;
  for (const HandEdit& e : s.edits) {
    if (!edits.empty()) edits += ".";
    if (e.outline.empty()) {
      edits += "r" + std::to_string(e.id);
      continue;
    }
    edits += "d";
    for (size_t i = 0; i < e.outline.size(); i++) {
      edits += (i ? "_" : "") + std::to_string(std::llround(e.outline[i].x)) + "_" +
               std::to_string(std::llround(e.outline[i].y));
    }
  }
  add("edits", edits);
  return out;
}

// One id, 1 to 2^32 - 1, in decimal; false for anything else.
static bool parse_id(const std::string& digits, uint32_t* id) {
  if (digits.empty() || digits.size() > 10 || digits.find_first_not_of("0123456789") != std::string::npos) return false;
  const unsigned long long v = std::stoull(digits);
  if (v == 0 || v > 0xFFFFFFFFull) return false;
  *id = uint32_t(v);
  return true;
}

// "10_20_30_20_30_40" -> an outline of 3 or more points (at most kMaxOutlinePoints), whole pixels of up to 7 digits.
static bool parse_outline(const std::string& text, std::vector<Point2>* outline) {
  std::vector<double> v;
  size_t pos = 0;
  while (pos <= text.size() && v.size() <= 2 * kMaxOutlinePoints) {
    size_t end = text.find('_', pos);
    if (end == std::string::npos) end = text.size();
    std::string number = text.substr(pos, end - pos);
    const bool negative = !number.empty() && number[0] == '-';
    if (negative) number.erase(0, 1);
    if (number.empty() || number.size() > 7 || number.find_first_not_of("0123456789") != std::string::npos) return false;
    v.push_back((negative ? -1.0 : 1.0) * std::stod(number));
    pos = end + 1;
  }
  if (v.size() % 2 != 0 || v.size() < 6 || v.size() > 2 * kMaxOutlinePoints) return false;
  outline->clear();
  for (size_t i = 0; i < v.size(); i += 2) outline->push_back({v[i], v[i + 1]});
  return true;
}

// "r17.d10_20_30_20_30_40" (or a link from before drawing's "17.4", with `old_removed`) -> edits.
static bool parse_edits(const std::string& text, bool old_removed, std::vector<HandEdit>* edits) {
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('.', pos);
    if (end == std::string::npos) end = text.size();
    const std::string part = text.substr(pos, end - pos);
    pos = end + 1;
    HandEdit e;
    if (old_removed) {
      if (!parse_id(part, &e.id)) return false;
    } else if (part.size() > 1 && part[0] == 'r') {
      if (!parse_id(part.substr(1), &e.id)) return false;
    } else if (part.size() > 1 && part[0] == 'd') {
      if (!parse_outline(part.substr(1), &e.outline)) return false;
    } else {
      return false;
    }
    edits->push_back(std::move(e));
  }
  return true;
}

// True for a whole number above kFormat ("2", "10"), however many digits it has.
static bool is_later_format(const std::string& value) {
  if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) return false;
  const size_t first = value.find_first_not_of('0');
  if (first == std::string::npos) return false;
  const std::string digits = value.substr(first);
  const std::string current = kFormat;
  return digits.size() != current.size() ? digits.size() > current.size() : digits > current;
}

bool parse_share_fragment(const std::string& fragment, ShareState* s, std::vector<std::string>* unknown,
                          std::string* error) {
  *s = ShareState();
  unknown->clear();
  std::string text = !fragment.empty() && fragment[0] == '#' ? fragment.substr(1) : fragment;
  bool marked = false;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('&', pos);
    if (end == std::string::npos) end = text.size();
    std::string part = text.substr(pos, end - pos);
    pos = end + 1;
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string key, value;
    if (!percent_decode(part.substr(0, eq), &key) ||
        !percent_decode(eq == std::string::npos ? "" : part.substr(eq + 1), &value)) {
      *error = "the link is damaged (a broken %-escape in \"" + part + "\"): copy the whole link again";
      return false;
    }
    if (key == kMarker) {
      if (is_later_format(value)) {
        *error = "the link was made by a newer CellDrop (link format " + value + "): open it with that version";
        return false;
      }
      if (value != kFormat) {
        // Anything but a larger number is a cut or mangled link: no version of CellDrop opens it.
        *error = "the link is damaged (\"" + part + "\" is not a link format): copy the whole link again";
        return false;
      }
      marked = true;
    } else if (key == "app") {
      s->app_version = value;
    } else if (key == "model") {
      s->model = value;
    } else if (key == "model_sha256") {
      s->model_sha256 = value;
    } else if (key == "backend") {
      s->backend = value;
    } else if (key == "image_sha256") {
      s->image_sha256 = value;
    } else if (key == "image_page") {
      if (value.empty() || value.size() > 5 || value.find_first_not_of("0123456789") != std::string::npos) {
        *error = "the link is damaged (\"image_page\" should be a page number): copy the whole link again";
        return false;
      }
      s->image_page = std::stoi(value);
    } else if (key == "image_name") {
      s->image_name = value;
    } else if (key == "image") {
      s->image_url = value;
    } else if (key == "pixel_size_um") {
      char* rest = nullptr;
      const double um = value.empty() ? 0.0 : std::strtod(value.c_str(), &rest);
      if (value.empty() || *rest != '\0' || !(um > 0.0 && um <= 1e6)) {
        *error = "the link is damaged (\"pixel_size_um\" should be a length in micrometres): copy the whole link again";
        return false;
      }
      s->pixel_size_um = um;
    } else if (key == "positive") {
      // N or N:T or N:T1,T2,T3, or a stain in N's place (see the header).
      const size_t colon = value.find(':');
      PositiveRule marker;
      std::vector<double> t;
      bool ok = parse_marker(value.substr(0, colon), &marker);
      for (size_t at = colon; ok && at != std::string::npos;) {
        const size_t comma = value.find(',', at + 1);
        const std::string number = value.substr(at + 1, comma == std::string::npos ? std::string::npos : comma - at - 1);
        char* rest = nullptr;
        t.push_back(number.empty() ? std::nan("") : std::strtod(number.c_str(), &rest));
        ok = !number.empty() && *rest == '\0' && std::isfinite(t.back());
        at = comma;
      }
      ok = ok && (t.size() <= 1 || (t.size() == 3 && t[0] <= t[1] && t[1] <= t[2]));
      if (!ok) {
        *error = "the link is damaged (\"positive\" should be a channel like 1, or a channel and threshold like 1:350, "
                 "or dab, or dab and three rising thresholds like dab:0.2,0.4,0.6): copy the whole link again";
        return false;
      }
      s->positive_channel = marker.channel;
      s->positive_stain = marker.stain;
      s->positive_threshold = t.empty() ? std::nan("") : t[0];
      s->positive_grades[0] = t.size() == 3 ? t[1] : std::nan("");
      s->positive_grades[1] = t.size() == 3 ? t[2] : std::nan("");
    } else if (key == "edits" || key == "removed") {
      if (!parse_edits(value, key == "removed", &s->edits)) {
        *error = key == "removed"
                     ? "the link is damaged (\"removed\" should list object ids like 17.4): copy the whole link again"
                     : "the link is damaged (\"edits\" should list edits like r17.d10_20_30_20_30_40): copy the "
                       "whole link again";
        return false;
      }
    } else if (key.rfind("p.", 0) == 0 && key.size() > 2) {
      s->params.emplace_back(key.substr(2), value);
    } else {
      unknown->push_back(key);
    }
  }
  if (!marked) {
    *error = "this is not a CellDrop share link (its fragment has no celldrop=1)";
    return false;
  }
  return true;
}

}  // namespace celldrop
