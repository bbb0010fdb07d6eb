// libpng (Debian: libpng-dev, pkg-config "libpng"). ssl-dist uses the simplified png_image API,
// which reports errors through return values (no setjmp, so Swift can call it).
#include <png.h>
static inline unsigned ssl_png_image_version(void) { return PNG_IMAGE_VERSION; }
static inline unsigned ssl_png_format_gray(void) { return PNG_FORMAT_GRAY; }
static inline unsigned ssl_png_format_rgb(void) { return PNG_FORMAT_RGB; }
