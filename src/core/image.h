// CellDrop core: the image type every stage of the pipeline passes along.
//
// The pipeline (src/core, read top-down): decode (bytes -> Image) -> channels/normalise (Image ->
// float planes) -> infer (a callback) -> postprocess -> labels -> measure/export. Nothing here knows
// about browsers; the page, the worker and the CLI are thin shells over these functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace celldrop {

// Sample types microscopy files actually use. Signed integer files are rare enough that decoders
// convert them (with a documented offset) rather than widening this enum.
enum class SampleType : uint8_t { U8, U16, U32, F32 };

const char* sample_type_name(SampleType t);  // "uint8", "uint16", "uint32", "float32"
size_t sample_type_size(SampleType t);       // bytes per sample

// A decoded image: width x height pixels of `channels` interleaved samples (chunky order, row-major,
// native byte order). Planar files are interleaved at decode time so every later stage sees one layout.
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;
  SampleType type = SampleType::U8;
  std::vector<uint8_t> data;  // width * height * channels * sample_type_size(type) bytes

  // Physical pixel size in micrometres, when the file says (ImageJ/OME/resolution tags); 0 = unknown.
  double pixel_size_x_um = 0.0;
  double pixel_size_y_um = 0.0;

  // The pixel size when pixels are square, else 0: what areas in um^2 and the label files'
  // calibration use (they assume square pixels).
  double square_pixel_size_um() const {
    return pixel_size_x_um > 0 && pixel_size_x_um == pixel_size_y_um ? pixel_size_x_um : 0.0;
  }

  bool empty() const { return width <= 0 || height <= 0 || channels <= 0; }
  size_t sample_count() const { return size_t(width) * size_t(height) * size_t(channels); }
  // Sample (x, y, c) converted to float, whatever the stored type.
  float at(int x, int y, int c) const;
};

// Allocates a zero-filled image. The caller checks sizes against its budget first (see decode.h).
Image make_image(int width, int height, int channels, SampleType type);

// Typed views for code that loops over samples of a known type.
template <class T> T* samples(Image& img) { return reinterpret_cast<T*>(img.data.data()); }
template <class T> const T* samples(const Image& img) {
  return reinterpret_cast<const T*>(img.data.data());
}

// A label image: 0 = background, 1..N = objects. 32-bit so that counts above 65535 survive.
struct Labels {
  int width = 0;
  int height = 0;
  std::vector<uint32_t> data;  // row-major, width * height

  uint32_t at(int x, int y) const { return data[size_t(y) * size_t(width) + size_t(x)]; }
  uint32_t& at(int x, int y) { return data[size_t(y) * size_t(width) + size_t(x)]; }
};

// A width x height label image of background (0).
Labels make_labels(int width, int height);

}  // namespace celldrop
