// Share links (src/app/share.cpp): a link must reproduce a result, so every field and every parameter
// has to come back from the fragment exactly as it went in, floats to the last bit; a damaged or
// foreign link must be refused with a sentence that says what to do.
#include "app/share.h"

#include <gtest/gtest.h>

#include <cmath>

#include <cctype>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/json_writer.h"

namespace celldrop {
namespace {

// A state with every field set, and values that need escaping in a URL.
ShareState full_state() {
  ShareState s;
  s.app_version = "0.1.0";
  s.model = "nuclei-star";
  s.model_sha256 = std::string(64, 'a');
  s.backend = "webgpu";
  s.image_sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  s.image_name = "plate A1 & B2 = 50%+ #3?.tif";
  s.image_page = 12;
  s.image_url = "https://example.org/data/cells%20one.tif?token=a+b&size=2#page=1";
  s.pixel_size_um = 0.1 + 0.2;  // not a short decimal: it must come back to the last bit
  s.params = {{"diameter", "0"}, {"prob_thresh", "0.6"}, {"nms_thresh", "0.3"}, {"percentile_low", "1"},
              {"percentile_high", "99.8"}, {"tile", "512"}, {"merge", "true"}};
  s.edits = {{17, {}}, {0, {{10, 20}, {-1, 20}, {30, 40}, {12, 7}}}, {4, {}}, {4294967295u, {}}};
  s.positive_channel = 1;
  s.positive_threshold = 1.0 / 3.0;  // bit for bit, as the parameters
  return s;
}

void expect_same(const ShareState& a, const ShareState& b) {
  EXPECT_EQ(a.app_version, b.app_version);
  EXPECT_EQ(a.model, b.model);
  EXPECT_EQ(a.model_sha256, b.model_sha256);
  EXPECT_EQ(a.backend, b.backend);
  EXPECT_EQ(a.image_sha256, b.image_sha256);
  EXPECT_EQ(a.image_name, b.image_name);
  EXPECT_EQ(a.image_page, b.image_page);
  EXPECT_EQ(a.image_url, b.image_url);
  EXPECT_EQ(a.pixel_size_um, b.pixel_size_um);
  EXPECT_EQ(a.params, b.params);  // same keys, same values, same order
  EXPECT_EQ(a.positive_channel, b.positive_channel);
  EXPECT_EQ(a.positive_stain, b.positive_stain);
  EXPECT_TRUE(a.positive_threshold == b.positive_threshold ||
              (std::isnan(a.positive_threshold) && std::isnan(b.positive_threshold)));
  for (int k = 0; k < 2; ++k)
    EXPECT_TRUE(a.positive_grades[k] == b.positive_grades[k] ||
                (std::isnan(a.positive_grades[k]) && std::isnan(b.positive_grades[k])));
  ASSERT_EQ(a.edits.size(), b.edits.size());  // in the order they were made
  for (size_t i = 0; i < a.edits.size(); i++) {
    EXPECT_EQ(a.edits[i].id, b.edits[i].id) << i;
    ASSERT_EQ(a.edits[i].outline.size(), b.edits[i].outline.size()) << i;
    for (size_t k = 0; k < a.edits[i].outline.size(); k++) {
      EXPECT_EQ(a.edits[i].outline[k].x, b.edits[i].outline[k].x) << i;
      EXPECT_EQ(a.edits[i].outline[k].y, b.edits[i].outline[k].y) << i;
    }
  }
}

bool parse(const std::string& fragment, ShareState* state, std::vector<std::string>* unknown, std::string* error) {
  return parse_share_fragment(fragment, state, unknown, error);
}

TEST(ShareLink, EveryFieldRoundTrips) {
  const ShareState in = full_state();
  const std::string fragment = share_fragment(in);
  ShareState out;
  std::vector<std::string> unknown;
  std::string error;
  ASSERT_TRUE(parse(fragment, &out, &unknown, &error)) << error << "\n" << fragment;
  expect_same(in, out);
  EXPECT_TRUE(unknown.empty());
  // The page puts it after '#' in the address bar; reading it back from there works the same.
  ASSERT_TRUE(parse("#" + fragment, &out, &unknown, &error)) << error;
  expect_same(in, out);
}

TEST(ShareLink, FormatStartsWithTheVersionMarker) {
  const std::string fragment = share_fragment(full_state());
  EXPECT_EQ(fragment.rfind("celldrop=1&", 0), 0u) << fragment;
  EXPECT_NE(fragment.find("&model=nuclei-star&"), std::string::npos) << fragment;
  EXPECT_NE(fragment.find("&p.prob_thresh=0.6&"), std::string::npos) << fragment;
}

TEST(ShareLink, EditsByHandAreADotListAndADamagedOneIsRefused) {
  const std::string fragment = share_fragment(full_state());
  // A drawn object's id is not in the link: replayed in order, the edits give it again.
  EXPECT_NE(fragment.find("&edits=r17.d10_20_-1_20_30_40_12_7.r4.r4294967295"), std::string::npos)
      << fragment;
  ShareState out;
  std::vector<std::string> unknown;
  std::string error;
  // A link from before drawing listed the removed ids alone; it still opens, as removals.
  ASSERT_TRUE(parse("celldrop=1&removed=17.4", &out, &unknown, &error)) << error;
  ASSERT_EQ(out.edits.size(), 2u);
  EXPECT_EQ(out.edits[1].id, 4u);
  EXPECT_TRUE(out.edits[1].outline.empty());
  for (const char* bad : {"", "17..4", "17.", "0", "4294967296", "17.x", "-3", "12345678901"}) {
    EXPECT_FALSE(parse(std::string("celldrop=1&removed=") + bad, &out, &unknown, &error)) << bad;
    EXPECT_NE(error.find("removed"), std::string::npos) << error;
  }
  for (const char* bad : {"", "17", "r", "r0", "rx", "r17.", "d", "d1_2_3_4", "d1_2_3_4_5", "d1_2_3_4_5_x",
                          "d1_2__4_5_6", "d1.5_2_3_4_5_6", "d1_2_3_4_5_12345678", "x1_2_3_4_5_6", "d1,2,3,4,5,6"}) {
    EXPECT_FALSE(parse(std::string("celldrop=1&edits=") + bad, &out, &unknown, &error)) << bad;
    EXPECT_NE(error.find("edits"), std::string::npos) << error;
  }
  std::string huge = "celldrop=1&edits=d";
  for (int i = 0; i < 4097; i++) huge += i ? "_1_2" : "1_2";
  EXPECT_FALSE(parse(huge, &out, &unknown, &error));
  for (const char* bad : {"", "x", "-1", "1.5", "123456"}) {
    EXPECT_FALSE(parse(std::string("celldrop=1&image_page=") + bad, &out, &unknown, &error)) << bad;
    EXPECT_NE(error.find("image_page"), std::string::npos) << error;
  }
  for (const char* bad : {"", "x", "0", "-0.5", "0.5um", "nan", "inf", "1e7"}) {
    EXPECT_FALSE(parse(std::string("celldrop=1&pixel_size_um=") + bad, &out, &unknown, &error)) << bad;
    EXPECT_NE(error.find("pixel_size_um"), std::string::npos) << error;
  }
  ASSERT_TRUE(parse("celldrop=1&pixel_size_um=0.65", &out, &unknown, &error)) << error;
  EXPECT_EQ(out.pixel_size_um, 0.65);
  // Counting positive nuclei: a channel (Otsu's threshold) or a channel and threshold, or a stain.
  for (const char* bad : {"", "x", "-1", "1.5", "1:", "1:x", "1:nan", ":3", "1:2:3", "99999", "eosin", "dab:", "dab1",
                          "dab:0.2,0.4", "dab:0.4,0.2,0.6", "dab:0.2,,0.6", "dab:0.2,0.4,0.6,0.8", "dab:,0.4,0.6", "dab:0.2,0.4,"}) {
    EXPECT_FALSE(parse(std::string("celldrop=1&positive=") + percent_encode(bad), &out, &unknown, &error)) << bad;
    EXPECT_NE(error.find("positive"), std::string::npos) << error;
  }
  ASSERT_TRUE(parse("celldrop=1&positive=2", &out, &unknown, &error)) << error;
  EXPECT_EQ(out.positive_channel, 2);
  EXPECT_TRUE(std::isnan(out.positive_threshold));
  ASSERT_TRUE(parse("celldrop=1&positive=0%3A-12.5", &out, &unknown, &error)) << error;
  EXPECT_EQ(out.positive_channel, 0);
  EXPECT_EQ(out.positive_threshold, -12.5);
  ASSERT_TRUE(parse("celldrop=1&positive=dab%3A0.25", &out, &unknown, &error)) << error;
  EXPECT_EQ(out.positive_stain, Stain::Dab);
  EXPECT_EQ(out.positive_channel, -1);
  EXPECT_EQ(out.positive_threshold, 0.25);
  ShareState plain;
  EXPECT_EQ(share_fragment(plain).find("positive"), std::string::npos) << "not counting: not in the link";
  plain.positive_channel = 3;
  EXPECT_NE(share_fragment(plain).find("&positive=3"), std::string::npos) << share_fragment(plain);
  plain.positive_channel = -1;
  plain.positive_stain = Stain::Dab;  // a stain is the marker in the channel's place
  plain.positive_threshold = 0.125;
  EXPECT_NE(share_fragment(plain).find("&positive=dab%3A0.125"), std::string::npos) << share_fragment(plain);
  ShareState back;
  ASSERT_TRUE(parse(share_fragment(plain), &back, &unknown, &error)) << error;
  expect_same(plain, back);
  EXPECT_TRUE(std::isnan(back.positive_grades[0]) && std::isnan(back.positive_grades[1]));
  // Graded: the 1+, 2+ and 3+ thresholds, as the CLI's --positive dab:T1,T2,T3.
  plain.positive_grades[0] = 0.4;
  plain.positive_grades[1] = 0.6;
  EXPECT_NE(share_fragment(plain).find("&positive=dab%3A0.125%2C0.4%2C0.6"), std::string::npos) << share_fragment(plain);
  ASSERT_TRUE(parse(share_fragment(plain), &back, &unknown, &error)) << error;
  expect_same(plain, back);
  ASSERT_TRUE(parse("celldrop=1&positive=dab%3A0.2%2C0.2%2C0.6", &out, &unknown, &error)) << error;  // equal is rising
  EXPECT_EQ(out.positive_threshold, 0.2);
  EXPECT_EQ(out.positive_grades[0], 0.2);
  EXPECT_EQ(out.positive_grades[1], 0.6);
}

TEST(ShareLink, FloatParametersComeBackBitForBit) {
  // Values as the page writes them (json_number, the shortest text that reads back exactly), chosen
  // to need 17 digits, an exponent with '+' (which form decoding would turn into a space were it not
  // escaped), a subnormal, a negative zero and the extremes of double.
  const std::vector<double> values = {0.1,
                                      0.1 + 0.2,
                                      1.0 / 3.0,
                                      2.0 / 3.0 * 1e-7,
                                      1e300,
                                      -1.2345678901234567e+200,
                                      std::numeric_limits<double>::denorm_min(),
                                      std::numeric_limits<double>::min(),
                                      std::numeric_limits<double>::max(),
                                      -0.0,
                                      99.8,
                                      0.59999999999999998};
  ShareState in;
  for (size_t i = 0; i < values.size(); i++) in.params.emplace_back("v" + std::to_string(i), json_number(values[i]));
  const std::string fragment = share_fragment(in);
  EXPECT_EQ(fragment.find('+'), std::string::npos) << "a raw '+' reads back as a space: " << fragment;

  ShareState out;
  std::vector<std::string> unknown;
  std::string error;
  ASSERT_TRUE(parse(fragment, &out, &unknown, &error)) << error;
  ASSERT_EQ(out.params.size(), values.size());
  for (size_t i = 0; i < values.size(); i++) {
    EXPECT_EQ(out.params[i].first, "v" + std::to_string(i));
    JsonValue v;
    ASSERT_TRUE(json_parse(out.params[i].second, &v, &error)) << out.params[i].second << ": " << error;
    ASSERT_TRUE(v.is_number());
    uint64_t want, got;
    std::memcpy(&want, &values[i], 8);
    std::memcpy(&got, &v.number, 8);
    EXPECT_EQ(got, want) << "parameter " << i << " was " << values[i] << ", came back as " << out.params[i].second;
  }
}

TEST(ShareLink, UrlAndNameAreEscapedInsideTheFragment) {
  const ShareState in = full_state();
  const std::string fragment = share_fragment(in);
  // Nothing in a value may end the fragment, start a new key or be rewritten by a browser.
  EXPECT_EQ(fragment.find('#'), std::string::npos) << fragment;
  EXPECT_EQ(fragment.find('?'), std::string::npos) << fragment;
  EXPECT_EQ(fragment.find(' '), std::string::npos) << fragment;
  EXPECT_EQ(fragment.find('/'), std::string::npos) << fragment;
  // One '&' between each of the 1 + 11 fields and 7 parameters: none came from a value.
  size_t ampersands = 0, equals = 0;
  for (char c : fragment) {
    ampersands += c == '&';
    equals += c == '=';
  }
  EXPECT_EQ(ampersands, 11u + 7u);
  EXPECT_EQ(equals, 1u + 11u + 7u);
  // Every byte is either unreserved or part of a %XX escape.
  for (size_t i = 0; i < fragment.size(); i++) {
    const char c = fragment[i];
    if (c == '%') {
      ASSERT_LT(i + 2, fragment.size());
      EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(fragment[i + 1])) &&
                  std::isxdigit(static_cast<unsigned char>(fragment[i + 2])))
          << fragment.substr(i, 3);
      i += 2;
    } else {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || std::strchr("-._~&=", c)) << "raw '" << c << "'";
    }
  }
  // The image URL's own escape (%20) is escaped again, so it is not decoded one time too many.
  EXPECT_NE(fragment.find("&image=https%3A%2F%2Fexample.org%2Fdata%2Fcells%2520one.tif%3Ftoken%3Da%2Bb%26size%3D2%23page%3D1"),
            std::string::npos)
      << fragment;
}

TEST(ShareLink, NonAsciiNamesRoundTripAsUtf8) {
  ShareState in;
  in.image_name = "Zellkerne \xC3\x9F \xCE\xBCm \xE6\xA0\xB8.tif";  // "Zellkerne ß μm 核.tif"
  const std::string fragment = share_fragment(in);
  EXPECT_NE(fragment.find("%C3%9F"), std::string::npos) << fragment;
  ShareState out;
  std::vector<std::string> unknown;
  std::string error;
  ASSERT_TRUE(parse(fragment, &out, &unknown, &error)) << error;
  EXPECT_EQ(out.image_name, in.image_name);
}

TEST(ShareLink, EmptyFieldsAreLeftOutAndStayEmpty) {
  ShareState in;
  in.model = "nuclei-flow";
  const std::string fragment = share_fragment(in);
  EXPECT_EQ(fragment, "celldrop=1&model=nuclei-flow");
  ShareState out;
  out.image_url = "left over from an earlier link";
  std::vector<std::string> unknown;
  std::string error;
  ASSERT_TRUE(parse(fragment, &out, &unknown, &error)) << error;
  expect_same(in, out);
}

TEST(ShareLink, UnknownKeysAreListedAndTheRestStillOpens) {
  ShareState out;
  std::vector<std::string> unknown;
  std::string error;
  ASSERT_TRUE(parse("celldrop=1&model=nuclei-star&colour=red&p.tile=256&future%20key=1&p.=3", &out, &unknown, &error))
      << error;
  EXPECT_EQ(out.model, "nuclei-star");
  ASSERT_EQ(out.params.size(), 1u);
  EXPECT_EQ(out.params[0], std::make_pair(std::string("tile"), std::string("256")));
  EXPECT_EQ(unknown, (std::vector<std::string>{"colour", "future key", "p."}));
}

TEST(ShareLink, FormEncodedSpacesAreRead) {
  // URLSearchParams writes spaces as '+'; a link edited by such a tool still opens.
  ShareState out;
  std::vector<std::string> unknown;
  std::string error;
  ASSERT_TRUE(parse("celldrop=1&image_name=my+cells.png", &out, &unknown, &error)) << error;
  EXPECT_EQ(out.image_name, "my cells.png");
}

TEST(ShareLink, NewerFormatIsRefusedWithAdvice) {
  ShareState out;
  std::vector<std::string> unknown;
  std::string error;
  EXPECT_FALSE(parse("#celldrop=2&model=nuclei-star", &out, &unknown, &error));
  EXPECT_NE(error.find("newer CellDrop"), std::string::npos) << error;
  EXPECT_NE(error.find("format 2"), std::string::npos) << error;
  error.clear();
  EXPECT_FALSE(parse("celldrop=12", &out, &unknown, &error));
  EXPECT_NE(error.find("newer CellDrop"), std::string::npos) << error;
}

TEST(ShareLink, MalformedVersionIsCalledDamagedNotNewer) {
  // Only a larger format number can come from a newer CellDrop; telling someone holding a truncated
  // or mangled link to find "a newer version" sends them looking for something that does not exist.
  for (const char* fragment : {"celldrop=&model=x", "celldrop=0", "celldrop=abc", "celldrop=1.5", "celldrop=-1",
                               "celldrop=01"}) {
    ShareState out;
    std::vector<std::string> unknown;
    std::string error;
    EXPECT_FALSE(parse(fragment, &out, &unknown, &error)) << fragment;
    EXPECT_EQ(error.find("newer"), std::string::npos) << fragment << ": " << error;
    EXPECT_NE(error.find("damaged"), std::string::npos) << fragment << ": " << error;
  }
}

TEST(ShareLink, BrokenEscapesAreRefused) {
  for (const char* fragment : {"celldrop=1&image_name=a%G1.png", "celldrop=1&image_name=a%4", "celldrop=1&image_name=%",
                               "celldrop=1&p.tile%2=3"}) {
    ShareState out;
    std::vector<std::string> unknown;
    std::string error;
    EXPECT_FALSE(parse(fragment, &out, &unknown, &error)) << fragment;
    EXPECT_NE(error.find("damaged"), std::string::npos) << fragment << ": " << error;
    EXPECT_NE(error.find("copy the whole link again"), std::string::npos) << error;
  }
}

TEST(ShareLink, FragmentsThatAreNotCellDropLinksAreRefused) {
  for (const char* fragment : {"", "#", "#section-2", "model=nuclei-star&p.tile=256", "celldropx=1", "CELLDROP=1"}) {
    ShareState out;
    std::vector<std::string> unknown;
    std::string error;
    EXPECT_FALSE(parse(fragment, &out, &unknown, &error)) << fragment;
    EXPECT_NE(error.find("not a CellDrop share link"), std::string::npos) << fragment << ": " << error;
  }
}

TEST(ShareLink, ParsingClearsWhatAnEarlierLinkLeft) {
  ShareState out = full_state();
  std::vector<std::string> unknown = {"stale"};
  std::string error;
  ASSERT_TRUE(parse("celldrop=1", &out, &unknown, &error)) << error;
  expect_same(ShareState(), out);
  EXPECT_TRUE(unknown.empty());
}

TEST(PercentCoding, EncodeKeepsOnlyUnreservedAndDecodeInverts) {
  std::string all;
  for (int c = 0; c < 256; c++) all += char(c);
  const std::string encoded = percent_encode(all);
  for (char c : encoded) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || std::strchr("-._~%", c)) << int(c);
  }
  EXPECT_EQ(encoded.size(), 66u + 3u * (256u - 66u));  // 66 unreserved bytes, the rest as %XX
  std::string decoded;
  ASSERT_TRUE(percent_decode(encoded, &decoded));
  EXPECT_EQ(decoded, all);
  ASSERT_TRUE(percent_decode("%e2%82%ac", &decoded));  // lower-case hex, as some tools write it
  EXPECT_EQ(decoded, "\xE2\x82\xAC");
  EXPECT_FALSE(percent_decode("100%", &decoded));
  EXPECT_FALSE(percent_decode("%zz", &decoded));
}

}  // namespace
}  // namespace celldrop
