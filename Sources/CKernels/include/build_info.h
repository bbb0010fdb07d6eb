// The git commit this build was made from ("unknown" when not built by `make`).
const char *ssl_dist_build_commit(void);
