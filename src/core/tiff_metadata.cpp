// Pixel size from the two metadata dialects microscopy TIFFs carry in ImageDescription: ImageJ's
// "key=value" lines and OME-XML. Deliberately small parsers: we need two or three values, not a model of
// either format, and both must survive arbitrary bytes (they are fuzzed through the TIFF target).
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

}  // namespace

bool imagej_unit_to_um(const std::string& description, double* um_per_unit) {
  size_t line = 0;
  while (line < description.size()) {
    size_t end = description.find('\n', line);
    if (end == std::string::npos) end = description.size();
    if (description.compare(line, 5, "unit=") == 0 && end >= line + 5) {
      std::string unit = description.substr(line + 5, end - line - 5);
      if (!unit.empty() && unit.back() == '\r') unit.pop_back();
      const double um = unit_to_um(unit);
      if (um <= 0.0) return false;
      *um_per_unit = um;
      return true;
    }
    line = end + 1;
  }
  return false;
}

bool ome_physical_size_um(const std::string& description, double* x_um, double* y_um) {
  if (description.find("<OME") == std::string::npos) return false;
  // The first <Pixels ...> start tag; "<Pixels" must not be the prefix of a longer element name.
  size_t start = 0;
  while ((start = description.find("<Pixels", start)) != std::string::npos) {
    const char after = start + 7 < description.size() ? description[start + 7] : '\0';
    if (after == ' ' || after == '\t' || after == '\n' || after == '\r' || after == '>' || after == '/') break;
    start += 7;
  }
  if (start == std::string::npos) return false;
  const size_t end = description.find('>', start);
  if (end == std::string::npos) return false;
  const std::string tag = description.substr(start + 7, end - start - 7);

  std::string text;
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
