// A minimal streaming JSON writer for the files CellDrop writes (GeoJSON, the run record): objects,
// arrays, strings escaped per RFC 8259, numbers that read back to the same double, and commas
// placed for the caller. Not a parser.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace celldrop {

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(const std::string& name);  // inside an object, before each value
  JsonWriter& value(const std::string& s);
  JsonWriter& value(const char* s) { return value(std::string(s)); }
  JsonWriter& value(double v);  // NaN and infinities (not JSON) are written as null
  JsonWriter& value(int64_t v);
  JsonWriter& value(int v) { return value(int64_t(v)); }
  JsonWriter& value(uint32_t v) { return value(int64_t(v)); }
  JsonWriter& value(bool v);
  JsonWriter& null();

  const std::string& str() const { return out_; }

 private:
  void separate();  // the comma before a value or key, unless it is the first in its container
  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

// `s` as a JSON string literal, quotes included. Bytes that are not valid UTF-8 become U+FFFD, so
// the output is always valid JSON whatever a file name contains.
std::string json_quote(const std::string& s);

// The shortest of %.15g/%.17g that reads back as `v`; "null" for NaN and infinities.
std::string json_number(double v);

}  // namespace celldrop
