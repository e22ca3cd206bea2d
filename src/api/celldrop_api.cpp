#include "api/celldrop_api.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/decode.h"
#include "core/png_write.h"
#include "core/synth.h"

using namespace celldrop;

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  return out + "\"";
}

std::string json_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

// Hands a string to the caller as a cd_free-able heap block.
char* give(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (!p) return nullptr;
  std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

char* give_error(const std::string& message) { return give("{\"error\":" + json_string(message) + "}"); }

uint8_t* give_bytes(const std::vector<uint8_t>& v) {
  uint8_t* p = static_cast<uint8_t*>(std::malloc(v.empty() ? 1 : v.size()));
  if (p && !v.empty()) std::memcpy(p, v.data(), v.size());
  return p;
}

// name=value pairs, separated by whitespace or commas.
bool parse_synth_params(const char* text, SynthParams* p, std::string* error) {
  std::string s = text ? text : "";
  size_t at = 0;
  while (at < s.size()) {
    size_t end = s.find_first_of(" \t\r\n,", at);
    if (end == std::string::npos) end = s.size();
    std::string pair = s.substr(at, end - at);
    at = end + 1;
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == pair.size()) {
      *error = "synth: expected name=value, got '" + pair + "'";
      return false;
    }
    std::string name = pair.substr(0, eq), value = pair.substr(eq + 1);
    const char* v = value.c_str();
    char* rest = nullptr;
    errno = 0;
    if (name == "seed") {
      // strtoull accepts "-1" (wrapping it) and leading spaces; only plain digits are seeds.
      bool digits = value.find_first_not_of("0123456789") == std::string::npos;
      unsigned long long seed = std::strtoull(v, &rest, 10);
      if (!digits || *rest || errno == ERANGE) {
        *error = "synth: seed must be an integer from 0 to 18446744073709551615, not '" + value + "'";
        return false;
      }
      p->seed = uint64_t(seed);
      continue;
    }
    double number = std::strtod(v, &rest);
    if (*rest || rest == v || !std::isfinite(number)) {
      *error = "synth: " + name + " must be a number, not '" + value + "'";
      return false;
    }
    bool integer = std::floor(number) == number && std::fabs(number) < 2e9;
    auto need_integer = [&](int* field) {
      if (!integer) {
        *error = "synth: " + name + " must be an integer, not '" + value + "'";
        return false;
      }
      *field = int(number);
      return true;
    };
    if (name == "width") {
      if (!need_integer(&p->width)) return false;
    } else if (name == "height") {
      if (!need_integer(&p->height)) return false;
    } else if (name == "bits") {
      if (!need_integer(&p->bits)) return false;
    } else if (name == "count") {
      if (!need_integer(&p->count)) return false;
    } else if (name == "diameter") {
      p->mean_diameter = number;
    } else if (name == "spread") {
      p->diameter_spread = number;
    } else if (name == "density") {
      p->density = number;
    } else if (name == "overlap") {
      p->overlap = number;
    } else if (name == "blur") {
      p->blur_sigma = number;
    } else if (name == "background") {
      p->background = number;
    } else if (name == "photons") {
      p->photons = number;
    } else if (name == "read_noise") {
      p->read_noise = number;
    } else {
      *error = "synth: unknown parameter '" + name +
               "' (known: seed, width, height, bits, diameter, spread, density, count, overlap, blur, "
               "background, photons, read_noise)";
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" {

const char* cd_version(void) { return CELLDROP_VERSION; }

void* cd_alloc(size_t size) { return std::malloc(size ? size : 1); }

void cd_free(void* ptr) { std::free(ptr); }

char* cd_info(const uint8_t* bytes, size_t size, double max_megapixels) {
  if (!bytes && size) return give_error("no input bytes");
  ImageInfo info;
  std::string error;
  if (!probe_image(bytes, size, &info, &error)) return give_error(error);

  DecodeOptions options;
  double pixels = double(info.width) * double(info.height);
  double budget = max_megapixels > 0.0 ? max_megapixels * 1e6 : double(options.max_samples) / 4.0;
  if (pixels > budget) {
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "%dx%d is %.1f megapixels, above the budget of %.1f; raise it (--max-megapixels) if "
                  "this machine has the memory",
                  info.width, info.height, pixels / 1e6, budget / 1e6);
    return give_error(buf);
  }
  // Decoding checks the pixel data itself (truncation, corrupt compressed streams).
  options.max_samples = uint64_t(budget) * uint64_t(info.channels > 0 ? info.channels : 1);
  Image image;
  if (!decode_image(bytes, size, options, &image, &error)) return give_error(error);

  std::string pixel_size = "null";
  if (info.pixel_size_x_um > 0.0 && info.pixel_size_y_um > 0.0)
    pixel_size = "[" + json_number(info.pixel_size_x_um) + "," + json_number(info.pixel_size_y_um) + "]";
  std::string json = "{\"format\":" + json_string(info.format) + ",\"width\":" + std::to_string(info.width) +
                     ",\"height\":" + std::to_string(info.height) + ",\"channels\":" +
                     std::to_string(info.channels) + ",\"type\":" + json_string(sample_type_name(info.type)) +
                     ",\"pages\":" + std::to_string(info.pages) + ",\"pixel_size_um\":" + pixel_size + "}";
  return give(json);
}

char* cd_synth(const char* params, uint8_t** image_png, size_t* image_png_size, uint8_t** labels_png,
               size_t* labels_png_size) {
  if (image_png) *image_png = nullptr;
  if (labels_png) *labels_png = nullptr;
  if (image_png_size) *image_png_size = 0;
  if (labels_png_size) *labels_png_size = 0;
  if (!image_png || !image_png_size || !labels_png || !labels_png_size)
    return give_error("cd_synth: the four out-parameters must not be NULL");

  SynthParams p;
  std::string error;
  if (!parse_synth_params(params, &p, &error)) return give_error(error);
  SynthResult r = synthesize_nuclei(p);
  if (!r.error.empty()) return give_error(r.error);

  std::vector<uint8_t> image_bytes, label_bytes;
  if (!write_png(r.image, PngWriteOptions(), &image_bytes, &error)) return give_error(error);
  if (!write_labels_png(r.labels, PngWriteOptions(), &label_bytes, &error)) return give_error(error);
  uint8_t* image = give_bytes(image_bytes);
  uint8_t* labels = give_bytes(label_bytes);
  if (!image || !labels) {
    std::free(image);
    std::free(labels);
    return give_error("out of memory for the PNG files");
  }
  *image_png = image;
  *image_png_size = image_bytes.size();
  *labels_png = labels;
  *labels_png_size = label_bytes.size();
  return give("{\"seed\":\"" + std::to_string(p.seed) + "\",\"width\":" + std::to_string(p.width) +
              ",\"height\":" + std::to_string(p.height) + ",\"bits\":" + std::to_string(p.bits) +
              ",\"count\":" + std::to_string(r.count) + ",\"overlapped\":" + std::to_string(r.overlapped) + "}");
}

}  // extern "C"
