// The JSON writer: structure and commas, string escapes, invalid UTF-8, numbers that round-trip.
#include "core/json_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>

namespace celldrop {
namespace {

TEST(JsonWriter, NestedContainersGetCommasRight) {
  JsonWriter w;
  w.begin_object().key("a").value(1).key("b").begin_array().value(true).null().value("x").end_array();
  w.key("c").begin_object().end_object().key("d").begin_array().end_array().end_object();
  EXPECT_EQ(w.str(), R"({"a":1,"b":[true,null,"x"],"c":{},"d":[]})");
}

TEST(JsonWriter, StringsAreEscaped) {
  EXPECT_EQ(json_quote("plain"), "\"plain\"");
  EXPECT_EQ(json_quote("q\"b\\s/"), "\"q\\\"b\\\\s/\"");
  EXPECT_EQ(json_quote("\n\r\t\b\f"), "\"\\n\\r\\t\\b\\f\"");
  EXPECT_EQ(json_quote(std::string("\x01\x1f", 2)), "\"\\u0001\\u001f\"");
  EXPECT_EQ(json_quote(std::string("a\0b", 3)), "\"a\\u0000b\"");
  EXPECT_EQ(json_quote("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x94\xAC"), "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x94\xAC\"");
}

TEST(JsonWriter, InvalidUtf8BecomesReplacementCharacters) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(json_quote("a\xFF" "b"), "\"a" + r + "b\"");
  EXPECT_EQ(json_quote("\xC3"), "\"" + r + "\"");              // truncated sequence
  EXPECT_EQ(json_quote("\xC0\xAF"), "\"" + r + r + "\"");       // overlong '/'
  EXPECT_EQ(json_quote("\xED\xA0\x80"), "\"" + r + r + r + "\"");  // a UTF-16 surrogate
}

TEST(JsonWriter, NumbersReadBackExactly) {
  for (double v : {0.0, -1.5, 0.1, 1.0 / 3.0, 6.02214076e23, 5e-324, 123456789012345678.0}) {
    const std::string s = json_number(v);
    EXPECT_EQ(std::strtod(s.c_str(), nullptr), v) << s;
  }
  EXPECT_EQ(json_number(0.1), "0.1");
  EXPECT_EQ(json_number(std::nan("")), "null");
  EXPECT_EQ(json_number(std::numeric_limits<double>::infinity()), "null");
  JsonWriter w;
  w.begin_array().value(int64_t(-9007199254740993LL)).value(uint32_t(4294967295u)).end_array();
  EXPECT_EQ(w.str(), "[-9007199254740993,4294967295]");
}

}  // namespace
}  // namespace celldrop
