#include "app/texture.h"

#include <GLES3/gl3.h>

namespace celldrop {

bool upload_gray_texture(GrayTexture* tex, const uint8_t* gray, int width, int height, std::string* error) {
  GLint max_size = 0;
  glGetIntegerv(GL_MAX_TEXTURE_SIZE, &max_size);
  if (width <= 0 || height <= 0) {
    *error = "the image is empty";
    return false;
  }
  if (width > max_size || height > max_size) {
    *error = "this image is " + std::to_string(width) + " x " + std::to_string(height) +
             " pixels, but this browser's graphics can show at most " + std::to_string(max_size) +
             " pixels on a side";
    return false;
  }
  // Drain errors left by earlier calls, so the check below blames only this upload (bounded: a lost
  // context may keep reporting).
  for (int i = 0; i < 8 && glGetError() != GL_NO_ERROR; i++) {
  }
  bool same_size = tex->id != 0 && tex->width == width && tex->height == height;
  if (tex->id == 0) glGenTextures(1, &tex->id);
  glBindTexture(GL_TEXTURE_2D, tex->id);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);  // rows of odd widths are not padded to 4 bytes
  // LUMINANCE samples as (v, v, v, 1), so ImGui's own shader draws grey without a custom one; WebGL2
  // has no texture swizzle to do the same with R8.
  if (same_size) {
    glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, width, height, GL_LUMINANCE, GL_UNSIGNED_BYTE, gray);
  } else {
    glTexImage2D(GL_TEXTURE_2D, 0, GL_LUMINANCE, width, height, 0, GL_LUMINANCE, GL_UNSIGNED_BYTE, gray);
  }
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR_MIPMAP_LINEAR);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
  glGenerateMipmap(GL_TEXTURE_2D);
  GLenum gl_error = glGetError();
  if (gl_error != GL_NO_ERROR) {
    *error = "the graphics driver refused the image texture (GL error " + std::to_string(gl_error) + ")";
    return false;
  }
  tex->width = width;
  tex->height = height;
  return true;
}

bool upload_rgba_texture(GrayTexture* tex, const uint8_t* rgba, int width, int height, std::string* error) {
  GLint max_size = 0;
  glGetIntegerv(GL_MAX_TEXTURE_SIZE, &max_size);
  if (width <= 0 || height <= 0 || width > max_size || height > max_size) {
    *error = "the overlay does not fit this browser's largest texture (" + std::to_string(max_size) + " px)";
    return false;
  }
  for (int i = 0; i < 8 && glGetError() != GL_NO_ERROR; i++) {
  }
  bool same_size = tex->id != 0 && tex->width == width && tex->height == height;
  if (tex->id == 0) glGenTextures(1, &tex->id);
  glBindTexture(GL_TEXTURE_2D, tex->id);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
  if (same_size) {
    glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, width, height, GL_RGBA, GL_UNSIGNED_BYTE, rgba);
  } else {
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, width, height, 0, GL_RGBA, GL_UNSIGNED_BYTE, rgba);
  }
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
  GLenum gl_error = glGetError();
  if (gl_error != GL_NO_ERROR) {
    *error = "the graphics driver refused the overlay texture (GL error " + std::to_string(gl_error) + ")";
    return false;
  }
  tex->width = width;
  tex->height = height;
  return true;
}

void destroy_texture(GrayTexture* tex) {
  if (tex->id != 0) glDeleteTextures(1, &tex->id);
  *tex = GrayTexture();
}

}  // namespace celldrop
