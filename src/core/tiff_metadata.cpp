// Pixel size and channel count from the two metadata dialects microscopy TIFFs carry in
// ImageDescription: ImageJ's "key=value" lines and OME-XML. Deliberately small parsers: we need two or three values, not a model of
// either format, and both must survive arbitrary bytes (they are fuzzed through the TIFF target).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/decode_formats.h"

namespace celldrop {
namespace {

// Micrometres per unit for the unit spellings ImageJ and OME writers use; 0 if unknown.
double unit_to_um(const std::string& unit) {
  static const struct { const char* name; double um; } units[] = {
      {"micron", 1.0}, {"microns", 1.0}, {"um", 1.0}, {"\xC2\xB5m", 1.0} /* U+00B5 micro sign */,
      {"\xCE\xBCm", 1.0} /* U+03BC Greek mu */, {"\xB5m", 1.0} /* Latin-1 micro sign */,
      {"\\u00B5m", 1.0} /* ImageJ escapes non-ASCII in its description */, {"micrometer", 1.0},
      {"nm", 1e-3}, {"nanometer", 1e-3}, {"mm", 1e3}, {"millimeter", 1e3}, {"cm", 1e4},
      {"centimeter", 1e4}, {"m", 1e6}, {"meter", 1e6}, {"pm", 1e-6}, {"\xC3\x85", 1e-4} /* Å */,
      {"\xE2\x84\xAB", 1e-4} /* U+212B Angstrom sign */};
  for (const auto& u : units)
    if (unit == u.name) return u.um;
  return 0.0;
}

bool parse_positive(const std::string& text, double* value) {
  if (text.empty()) return false;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || !std::isfinite(v) || v <= 0.0) return false;
  *value = v;
  return true;
}

// Value of attribute `name` inside one XML start tag (`tag` holds the text between '<' and '>').
bool xml_attribute(const std::string& tag, const char* name, std::string* value) {
  const size_t name_len = strlen(name);
  size_t pos = 0;
  while ((pos = tag.find(name, pos)) != std::string::npos) {
    const bool starts_word = pos > 0 && (tag[pos - 1] == ' ' || tag[pos - 1] == '\t' ||
                                         tag[pos - 1] == '\n' || tag[pos - 1] == '\r');
    size_t eq = pos + name_len;
    while (eq < tag.size() && (tag[eq] == ' ' || tag[eq] == '\t' || tag[eq] == '\n' || tag[eq] == '\r')) ++eq;
    if (starts_word && eq + 1 < tag.size() && tag[eq] == '=') {
      size_t q = eq + 1;
      while (q < tag.size() && (tag[q] == ' ' || tag[q] == '\t' || tag[q] == '\n' || tag[q] == '\r')) ++q;
      if (q < tag.size() && (tag[q] == '"' || tag[q] == '\'')) {
        const size_t close = tag.find(tag[q], q + 1);
        if (close == std::string::npos) return false;
        *value = tag.substr(q + 1, close - q - 1);
        return true;
      }
    }
    pos += name_len;
  }
  return false;
}

// The value of ImageJ's "key=value" line `key`, without a trailing '\r'; false when there is none.
bool imagej_value(const std::string& description, const char* key, std::string* value) {
  const size_t key_len = strlen(key);
  size_t line = 0;
  while (line < description.size()) {
    size_t end = description.find('\n', line);
    if (end == std::string::npos) end = description.size();
    if (end >= line + key_len + 1 && description.compare(line, key_len, key) == 0 &&
        description[line + key_len] == '=') {
      *value = description.substr(line + key_len + 1, end - line - key_len - 1);
      if (!value->empty() && value->back() == '\r') value->pop_back();
      return true;
    }
    line = end + 1;
  }
  return false;
}

// The text inside the first <Pixels ...> start tag of an OME-XML description; false when there is none.
bool ome_pixels_tag(const std::string& description, std::string* tag) {
  if (description.find("<OME") == std::string::npos) return false;
  // "<Pixels" must not be the prefix of a longer element name.
  size_t start = 0;
  while ((start = description.find("<Pixels", start)) != std::string::npos) {
    const char after = start + 7 < description.size() ? description[start + 7] : '\0';
    if (after == ' ' || after == '\t' || after == '\n' || after == '\r' || after == '>' || after == '/') break;
    start += 7;
  }
  if (start == std::string::npos) return false;
  const size_t end = description.find('>', start);
  if (end == std::string::npos) return false;
  *tag = description.substr(start + 7, end - start - 7);
  return true;
}

// A whole number from 1 to 4096 (more channels than that is no microscope's).
int parse_count(const std::string& text) {
  double v = 0.0;
  if (!parse_positive(text, &v) || v != std::floor(v) || v > 4096.0) return 0;
  return int(v);
}

}  // namespace

int tiff_channels_in_pages(const std::string& description) {
  std::string text;
  if (description.compare(0, 7, "ImageJ=") == 0) {
    // ImageJ stores a hyperstack's planes channel first (then slices, then frames), one per page.
    return imagej_value(description, "channels", &text) ? std::max(parse_count(text), 1) : 1;
  }
  std::string tag;
  if (!ome_pixels_tag(description, &tag) || !xml_attribute(tag, "SizeC", &text)) return 1;
  const int c = parse_count(text);
  if (c <= 1) return 1;
  // The channels of one plane are consecutive pages when C varies fastest, or when it is the only
  // dimension beyond X and Y.
  std::string order, z = "1", t = "1";
  xml_attribute(tag, "DimensionOrder", &order);
  xml_attribute(tag, "SizeZ", &z);
  xml_attribute(tag, "SizeT", &t);
  const bool c_first = order.compare(0, 3, "XYC") == 0;
  return c_first || (parse_count(z) == 1 && parse_count(t) == 1) ? c : 1;
}

bool imagej_unit_to_um(const std::string& description, double* um_per_unit) {
  std::string unit;
  if (!imagej_value(description, "unit", &unit)) return false;
  const double um = unit_to_um(unit);
  if (um <= 0.0) return false;
  *um_per_unit = um;
  return true;
}

bool ome_physical_size_um(const std::string& description, double* x_um, double* y_um) {
  std::string tag, text;
  if (!ome_pixels_tag(description, &tag)) return false;
  double x = 0.0, x_unit = 1.0;  // the OME schema's default unit is the micrometre
  if (!xml_attribute(tag, "PhysicalSizeX", &text) || !parse_positive(text, &x)) return false;
  if (xml_attribute(tag, "PhysicalSizeXUnit", &text) && (x_unit = unit_to_um(text)) <= 0.0) return false;
  *x_um = x * x_unit;
  // PhysicalSizeY is optional; a file that gives X only describes square pixels in practice.
  *y_um = *x_um;
  double y = 0.0, y_unit = 1.0;
  if (xml_attribute(tag, "PhysicalSizeY", &text)) {
    if (!parse_positive(text, &y)) return false;
    if (xml_attribute(tag, "PhysicalSizeYUnit", &text) && (y_unit = unit_to_um(text)) <= 0.0) return false;
    *y_um = y * y_unit;
  }
  return true;
}

}  // namespace celldrop
