#include "core/json.h"

#include <gtest/gtest.h>

#include <string>

using namespace celldrop;

namespace {

JsonValue parse_ok(const std::string& text) {
  JsonValue v;
  std::string error;
  EXPECT_TRUE(json_parse(text, &v, &error)) << text << " -> " << error;
  return v;
}

std::string parse_error(const std::string& text, const JsonLimits& limits = JsonLimits()) {
  JsonValue v;
  std::string error;
  EXPECT_FALSE(json_parse(text, &v, &error, limits)) << "accepted: " << text;
  return error;
}

}  // namespace

TEST(Json, Scalars) {
  EXPECT_TRUE(parse_ok("null").is_null());
  EXPECT_TRUE(parse_ok(" true ").boolean);
  EXPECT_FALSE(parse_ok("false").boolean);
  EXPECT_EQ(parse_ok("0").number, 0.0);
  EXPECT_EQ(parse_ok("-0.5").number, -0.5);
  EXPECT_EQ(parse_ok("99.8").number, 99.8);
  EXPECT_EQ(parse_ok("1e3").number, 1000.0);
  EXPECT_EQ(parse_ok("2.5E-2").number, 0.025);
  EXPECT_EQ(parse_ok("123456789012").number, 123456789012.0);
  EXPECT_EQ(parse_ok("\"abc\"").string, "abc");
}

TEST(Json, NestedDocumentKeepsOrder) {
  JsonValue v = parse_ok(
      "{\"name\": \"m\", \"outputs\": [{\"name\": \"prob\", \"channels\": 1}, {\"name\": \"dist\"}],"
      " \"empty\": {}, \"none\": [], \"flag\": true}");
  ASSERT_TRUE(v.is_object());
  ASSERT_EQ(v.object.size(), 5u);
  EXPECT_EQ(v.object[0].first, "name");
  EXPECT_EQ(v.object[4].first, "flag");
  const JsonValue* outputs = v.find("outputs");
  ASSERT_NE(outputs, nullptr);
  ASSERT_TRUE(outputs->is_array());
  ASSERT_EQ(outputs->array.size(), 2u);
  EXPECT_EQ(outputs->array[0].find("name")->string, "prob");
  EXPECT_EQ(outputs->array[0].find("channels")->number, 1.0);
  EXPECT_EQ(outputs->array[1].find("channels"), nullptr);
  EXPECT_TRUE(v.find("empty")->is_object());
  EXPECT_TRUE(v.find("none")->array.empty());
  EXPECT_EQ(v.find("missing"), nullptr);
  EXPECT_EQ(outputs->find("name"), nullptr);  // not an object
}

TEST(Json, Escapes) {
  EXPECT_EQ(parse_ok(R"("a\"b\\c\/d\b\f\n\r\t")").string, "a\"b\\c/d\b\f\n\r\t");
  EXPECT_EQ(parse_ok(R"("\u0041\u00e9\u20AC")").string, "A\xC3\xA9\xE2\x82\xAC");
  // U+1F600 as a surrogate pair.
  EXPECT_EQ(parse_ok(R"("\ud83d\ude00")").string, "\xF0\x9F\x98\x80");
  EXPECT_EQ(parse_ok(R"("\u0000x")").string, std::string("\0x", 2));
  // Raw UTF-8 passes through unchanged.
  EXPECT_EQ(parse_ok("\"\xC3\xA9\xF0\x9F\x98\x80\"").string, "\xC3\xA9\xF0\x9F\x98\x80");
}

TEST(Json, ByteOrderMarkIsSkipped) {
  EXPECT_EQ(parse_ok("\xEF\xBB\xBF{\"a\": 1}").find("a")->number, 1.0);
}

TEST(Json, MalformedInputIsRefusedWithPosition) {
  EXPECT_EQ(parse_error(""), "line 1, column 1: the text is empty; expected a JSON value");
  EXPECT_EQ(parse_error("{\"a\": 1,}"), "line 1, column 9: trailing comma before '}'");
  EXPECT_EQ(parse_error("[1, 2,]"), "line 1, column 7: trailing comma before ']'");
  EXPECT_EQ(parse_error("{\n  \"a\": 1\n  \"b\": 2\n}"),
            "line 3, column 3: unexpected '\"'; expected ',' or '}'");
  EXPECT_EQ(parse_error("{\"a\": 1, \"a\": 2}"), "line 1, column 10: duplicate key \"a\"");
  EXPECT_EQ(parse_error("[1] x"), "line 1, column 5: unexpected text after the end of the JSON value");
  EXPECT_EQ(parse_error("{a: 1}"), "line 1, column 2: unexpected 'a'; expected a key in double quotes");
  // Columns count characters: the two-byte 'é' is one column.
  EXPECT_EQ(parse_error("[\"\xC3\xA9\", x]"), "line 1, column 7: unexpected 'x'; expected a value");
}

TEST(Json, StrictGrammar) {
  const char* bad[] = {
      "01", "-", "1.", ".5", "1e", "+1", "NaN", "Infinity", "-Infinity", "1e999", "tru", "nul",
      "'a'", "\"abc", "[1 2]", "{\"a\" 1}", "{\"a\":}", "// c\n1", "/* c */ 1", "[", "{", "\"\\x\"",
      "\"\\u12\"", "\"\\u12G4\"", "\"a\tb\"", "\"a\nb\""};
  for (const char* text : bad) parse_error(text);
  EXPECT_NE(parse_error("1e999").find("out of range"), std::string::npos);
  EXPECT_NE(parse_error("\"a\tb\"").find("control character"), std::string::npos);
  EXPECT_NE(parse_error("NaN").find("NaN and Infinity"), std::string::npos);
}

TEST(Json, InvalidUnicodeIsRefused) {
  EXPECT_NE(parse_error(R"("\udc00")").find("lone low surrogate"), std::string::npos);
  EXPECT_NE(parse_error(R"("\ud83d")").find("not followed by a low surrogate"), std::string::npos);
  EXPECT_NE(parse_error(R"("\ud83d\u0041")").find("not followed by a low surrogate"), std::string::npos);
  parse_error("\"\xFF\"");              // never valid in UTF-8
  parse_error("\"\xC0\xAF\"");          // overlong '/'
  parse_error("\"\xE0\x80\xAF\"");      // overlong '/'
  parse_error("\"\xED\xA0\x80\"");      // encoded surrogate U+D800
  parse_error("\"\xF4\x90\x80\x80\"");  // above U+10FFFF
  parse_error("\"\xC3\"");              // cut off by the closing quote
  parse_error("\"\xE2\x82");            // cut off by the end of text
}

TEST(Json, DepthLimit) {
  JsonLimits limits;
  limits.max_depth = 8;
  std::string ok = std::string(8, '[') + std::string(8, ']');
  JsonValue v;
  std::string error;
  EXPECT_TRUE(json_parse(ok, &v, &error, limits)) << error;
  std::string deep = std::string(9, '[') + std::string(9, ']');
  EXPECT_NE(parse_error(deep, limits).find("nesting deeper than 8 levels"), std::string::npos);
  // The default limit refuses a hostile document without exhausting the stack.
  std::string hostile(100000, '[');
  EXPECT_NE(parse_error(hostile).find("nesting deeper than 64"), std::string::npos);
}

TEST(Json, SizeLimit) {
  JsonLimits limits;
  limits.max_bytes = 4;
  EXPECT_NE(parse_error("[1, 2]", limits).find("more than the limit"), std::string::npos);
}

TEST(Json, FailedParseLeavesOutputUntouched) {
  JsonValue v;
  v.type = JsonType::Number;
  v.number = 7;
  std::string error;
  EXPECT_FALSE(json_parse("[1, ", &v, &error));
  EXPECT_EQ(v.number, 7.0);
}
