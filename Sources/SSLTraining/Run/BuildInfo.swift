import CKernels

/// What this build is: the version and the git commit it was made from (`make` passes the commit; see
/// `Sources/CKernels/build_info.c`). `ssl-dist --version` prints it, and every checkpoint records it.
public enum BuildInfo {
    public static let version = "0.25.0"
    public static var commit: String { String(cString: ssl_dist_build_commit()) }
    public static var description: String { "ssl-dist \(version) (commit \(commit))" }
}
