// What the build was made from: `make` passes -DSSL_DIST_COMMIT="<git commit>" (with "+changes" when the work tree
// differed from it); a plain `swift build` leaves it unknown.
#include "build_info.h"

#ifndef SSL_DIST_COMMIT
#define SSL_DIST_COMMIT "unknown"
#endif

const char *ssl_dist_build_commit(void) { return SSL_DIST_COMMIT; }
