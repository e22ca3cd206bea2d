#include "app/texture.h"

#include <GLES3/gl3.h>

namespace celldrop {

namespace {

// The upload both textures share; `what` names the texture in errors ("image", "overlay").
bool upload_texture(Texture* tex, const uint8_t* pixels, int width, int height, GLenum format,
                    GLint internal_format, bool mipmaps, const char* what, std::string* error) {
  GLint max_size = 0;
  glGetIntegerv(GL_MAX_TEXTURE_SIZE, &max_size);
  if (width <= 0 || height <= 0) {
    *error = std::string("the ") + what + " is empty";
    return false;
  }
  if (width > max_size || height > max_size) {
    *error = "this " + std::string(what) + " is " + std::to_string(width) + " x " + std::to_string(height) +
             " pixels, but this browser's graphics can show at most " + std::to_string(max_size) +
             " pixels on a side";
    return false;
  }
  clear_graphics_errors();
  bool same_size = tex->id != 0 && tex->width == width && tex->height == height;
  if (tex->id == 0) glGenTextures(1, &tex->id);
  glBindTexture(GL_TEXTURE_2D, tex->id);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);  // rows of odd widths are not padded to 4 bytes
  if (same_size) {
    glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, width, height, format, GL_UNSIGNED_BYTE, pixels);
  } else {
    glTexImage2D(GL_TEXTURE_2D, 0, internal_format, width, height, 0, format, GL_UNSIGNED_BYTE, pixels);
  }
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, mipmaps ? GL_LINEAR_MIPMAP_LINEAR : GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
  if (mipmaps) glGenerateMipmap(GL_TEXTURE_2D);
  if (!graphics_ok(what, error)) return false;
  tex->width = width;
  tex->height = height;
  return true;
}

}  // namespace

bool upload_image_texture(Texture* tex, const uint8_t* pixels, int width, int height, int bytes_per_pixel,
                          std::string* error) {
  // A texture changes format only when made anew: a grey image followed by a colour one of the
  // same size must not be refilled in place.
  const GLenum format = bytes_per_pixel == 3 ? GL_RGB : GL_LUMINANCE;
  if (tex->id != 0 && tex->format != format) destroy_texture(tex);
  tex->format = format;
  // LUMINANCE samples as (v, v, v, 1), so ImGui's own shader draws grey without a custom one; WebGL2
  // has no texture swizzle to do the same with R8.
  const GLint internal_format = bytes_per_pixel == 3 ? GL_RGB8 : GL_LUMINANCE;
  return upload_texture(tex, pixels, width, height, format, internal_format, true, "image", error);
}

bool allocate_rgba_texture(Texture* tex, int width, int height, std::string* error) {
  if (tex->id != 0 && (tex->width != width || tex->height != height)) destroy_texture(tex);
  if (tex->id != 0) return true;  // same size: every row is about to be filled again
  // WebGL gives a texture made from no pixels zeroed (transparent) storage.
  return upload_texture(tex, nullptr, width, height, GL_RGBA, GL_RGBA8, false, "overlay", error);
}

void upload_rgba_rect(Texture* tex, const uint8_t* rgba, int x0, int y0, int width, int height) {
  glBindTexture(GL_TEXTURE_2D, tex->id);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
  glTexSubImage2D(GL_TEXTURE_2D, 0, x0, y0, width, height, GL_RGBA, GL_UNSIGNED_BYTE, rgba);
}

void clear_graphics_errors() {
  for (int i = 0; i < 8 && glGetError() != GL_NO_ERROR; i++) {
  }
}

bool graphics_ok(const char* what, std::string* error) {
  const GLenum gl_error = glGetError();
  if (gl_error == GL_NO_ERROR) return true;
  *error = std::string("the graphics driver refused the ") + what + " texture (GL error " + std::to_string(gl_error) + ")";
  return false;
}

void destroy_texture(Texture* tex) {
  if (tex->id != 0) glDeleteTextures(1, &tex->id);
  *tex = Texture();
}

}  // namespace celldrop
