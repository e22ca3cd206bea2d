#include "core/image.h"

#include <gtest/gtest.h>

namespace celldrop {

TEST(Image, MakeImageSizesBufferAndReadsEveryType) {
  Image u16 = make_image(3, 2, 2, SampleType::U16);
  EXPECT_EQ(u16.data.size(), 3u * 2u * 2u * 2u);
  samples<uint16_t>(u16)[(1 * 3 + 2) * 2 + 1] = 65535;
  EXPECT_EQ(u16.at(2, 1, 1), 65535.0f);
  EXPECT_EQ(u16.at(2, 1, 0), 0.0f);

  Image f = make_image(1, 1, 1, SampleType::F32);
  samples<float>(f)[0] = -1.5f;
  EXPECT_EQ(f.at(0, 0, 0), -1.5f);
  EXPECT_STREQ(sample_type_name(SampleType::U32), "uint32");
  EXPECT_EQ(sample_type_size(SampleType::F32), 4u);
}

}  // namespace celldrop
