# Third-party sources compiled by CellDrop's own CMake, identically for GCC, clang (fuzzing) and
# Emscripten. scripts/setup.sh unpacks them from Debian's source packages into .deps/src. We compile
# their sources directly instead of calling their CMake files: libtiff's try-compiles fail under
# Emscripten 3.1.6, and Debian's zlib source lacks the win32/ folder its CMake expects.

set(CELLDROP_DEPS_DIR "${CMAKE_SOURCE_DIR}/.deps/src" CACHE PATH "Unpacked Debian source packages")
foreach(dep imgui/imgui.cpp tiff/libtiff/tif_dirread.c zlib/inflate.c)
  if(NOT EXISTS "${CELLDROP_DEPS_DIR}/${dep}")
    message(FATAL_ERROR "${CELLDROP_DEPS_DIR}/${dep} is missing: run scripts/setup.sh first")
  endif()
endforeach()

# Third-party code is not ours to warn about.
set(CELLDROP_THIRD_PARTY_FLAGS -w)

# --- zlib: inflate for PNG-in-TIFF-Deflate, deflate for the PNG and TIFF files we write -------------
set(ZLIB_DIR "${CELLDROP_DEPS_DIR}/zlib")
add_library(cd_zlib STATIC
  ${ZLIB_DIR}/adler32.c ${ZLIB_DIR}/compress.c ${ZLIB_DIR}/crc32.c ${ZLIB_DIR}/deflate.c
  ${ZLIB_DIR}/infback.c ${ZLIB_DIR}/inffast.c ${ZLIB_DIR}/inflate.c ${ZLIB_DIR}/inftrees.c
  ${ZLIB_DIR}/trees.c ${ZLIB_DIR}/uncompr.c ${ZLIB_DIR}/zutil.c)
target_include_directories(cd_zlib SYSTEM PUBLIC ${ZLIB_DIR})
target_compile_options(cd_zlib PRIVATE ${CELLDROP_THIRD_PARTY_FLAGS})
set_target_properties(cd_zlib PROPERTIES POSITION_INDEPENDENT_CODE ON)

# --- libtiff 4.5 with the codecs that need nothing but zlib -----------------------------------------
set(TIFF_DIR "${CELLDROP_DEPS_DIR}/tiff/libtiff")
set(TIFF_SOURCES aux close codec color compress dir dirinfo dirread dirwrite dumpmode error extension
  fax3 fax3sm flush getimage hash_set jbig jpeg lerc luv lzma lzw next ojpeg open packbits pixarlog
  predict print read strip swab thunder tile unix version warning webp write zip zstd)
list(TRANSFORM TIFF_SOURCES PREPEND "${TIFF_DIR}/tif_")
list(TRANSFORM TIFF_SOURCES APPEND ".c")
add_library(cd_tiff STATIC ${TIFF_SOURCES})
# Our tiffconf.h/tif_config.h come first, so libtiff's templates (*.in) are never used.
target_include_directories(cd_tiff BEFORE PUBLIC "${CMAKE_SOURCE_DIR}/cmake/libtiff")
target_include_directories(cd_tiff SYSTEM PUBLIC ${TIFF_DIR})
target_link_libraries(cd_tiff PUBLIC cd_zlib)
target_compile_options(cd_tiff PRIVATE ${CELLDROP_THIRD_PARTY_FLAGS})
set_target_properties(cd_tiff PROPERTIES POSITION_INDEPENDENT_CODE ON)
if(NOT EMSCRIPTEN AND NOT WIN32)
  target_link_libraries(cd_tiff PUBLIC m)
endif()

# --- Dear ImGui 1.86 with its OpenGL3 backend (WebGL2 through GLES3 in the browser) -----------------
set(IMGUI_DIR "${CELLDROP_DEPS_DIR}/imgui")
add_library(cd_imgui STATIC
  ${IMGUI_DIR}/imgui.cpp ${IMGUI_DIR}/imgui_draw.cpp ${IMGUI_DIR}/imgui_tables.cpp
  ${IMGUI_DIR}/imgui_widgets.cpp ${IMGUI_DIR}/backends/imgui_impl_opengl3.cpp)
target_include_directories(cd_imgui SYSTEM PUBLIC ${IMGUI_DIR} ${IMGUI_DIR}/backends)
target_compile_definitions(cd_imgui PUBLIC IMGUI_IMPL_OPENGL_ES3 IMGUI_DISABLE_OBSOLETE_FUNCTIONS)
target_compile_options(cd_imgui PRIVATE ${CELLDROP_THIRD_PARTY_FLAGS})
