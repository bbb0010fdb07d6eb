// zlib (Debian: zlib1g-dev, pkg-config "zlib"): gzip-compressed IDX and CSV files.
#include <zlib.h>
