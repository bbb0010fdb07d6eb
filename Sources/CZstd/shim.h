// zstd (Debian: libzstd-dev, pkg-config "libzstd"): checkpoint payload compression.
#include <zstd.h>
