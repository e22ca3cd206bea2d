#include "core/label_io.h"

#include "core/decode.h"

namespace celldrop {

bool labels_from_image(const Image& image, Labels* labels, std::string* error) {
  if (image.empty()) {
    if (error) *error = "the label image is empty";
    return false;
  }
  if (image.channels != 1) {
    if (error)
      *error = "a label image has one channel of object ids; this one has " + std::to_string(image.channels) +
               " (is it the image rather than its labels?)";
    return false;
  }
  if (image.type == SampleType::F32) {
    if (error) *error = "a label image holds integer ids; this one holds floating-point samples";
    return false;
  }
  labels->width = image.width;
  labels->height = image.height;
  labels->data.resize(size_t(image.width) * size_t(image.height));
  const size_t n = labels->data.size();
  for (size_t i = 0; i < n; ++i) {
    switch (image.type) {
      case SampleType::U8: labels->data[i] = samples<uint8_t>(image)[i]; break;
      case SampleType::U16: labels->data[i] = samples<uint16_t>(image)[i]; break;
      default: labels->data[i] = samples<uint32_t>(image)[i]; break;
    }
  }
  return true;
}

bool decode_labels(const uint8_t* bytes, size_t size, Labels* labels, std::string* error) {
  Image image;
  std::string why;
  if (!decode_image(bytes, size, DecodeOptions(), &image, &why)) {
    if (error) *error = why;
    return false;
  }
  return labels_from_image(image, labels, error);
}

}  // namespace celldrop
