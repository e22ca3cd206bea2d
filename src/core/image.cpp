#include "core/image.h"

#include <cstring>

namespace celldrop {

const char* sample_type_name(SampleType t) {
  switch (t) {
    case SampleType::U8: return "uint8";
    case SampleType::U16: return "uint16";
    case SampleType::U32: return "uint32";
    case SampleType::F32: return "float32";
  }
  return "unknown";
}

size_t sample_type_size(SampleType t) {
  switch (t) {
    case SampleType::U8: return 1;
    case SampleType::U16: return 2;
    case SampleType::U32: return 4;
    case SampleType::F32: return 4;
  }
  return 0;
}

Image make_image(int width, int height, int channels, SampleType type) {
  Image img;
  img.width = width;
  img.height = height;
  img.channels = channels;
  img.type = type;
  img.data.assign(img.sample_count() * sample_type_size(type), 0);
  return img;
}

Labels make_labels(int width, int height) {
  Labels labels;
  labels.width = width;
  labels.height = height;
  labels.data.assign(size_t(width) * size_t(height), 0);
  return labels;
}

float Image::at(int x, int y, int c) const {
  size_t i = (size_t(y) * size_t(width) + size_t(x)) * size_t(channels) + size_t(c);
  switch (type) {
    case SampleType::U8: return float(data[i]);
    case SampleType::U16: return float(samples<uint16_t>(*this)[i]);
    case SampleType::U32: return float(samples<uint32_t>(*this)[i]);
    case SampleType::F32: return samples<float>(*this)[i];
  }
  return 0.0f;
}

}  // namespace celldrop
