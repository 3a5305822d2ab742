// nghttp2 for Swift: Debian's libnghttp2-dev 1.52 with its security backports (the stream reset
// rate limit of CVE-2023-44487 and nghttp2_option_set_max_continuations of CVE-2024-28182).
// Everything sluice uses imports as is: the enums come in as structs with a rawValue, the
// callbacks as @convention(c) function types, the frame union as a struct. No wrapper is needed.
#ifndef SLUICE_CNGHTTP2_SHIM_H
#define SLUICE_CNGHTTP2_SHIM_H

#include <nghttp2/nghttp2.h>

#endif
