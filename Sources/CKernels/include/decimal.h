#pragma once

/// Parses the floating-point number that fills s[0..len) exactly, as Swift's Double(String) does (strtod in the C
/// locale: decimal or hexadecimal, optional sign and exponent, "inf" and "nan"), whatever the process's locale.
/// Returns 1 and sets *out; 0 when the bytes are not such a number; -1 when len is 0 or above 63 (parse it otherwise).
int ssl_parse_double(const char *s, long len, double *out);
