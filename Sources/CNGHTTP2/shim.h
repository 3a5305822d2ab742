// nghttp2 for Swift (Debian's libnghttp2-dev 1.52 with its security backports: stream reset rate
// limit, CONTINUATION limit). Everything sluice uses imports directly except what is wrapped here
// (prefix `sl_h2_`).
#ifndef SLUICE_CNGHTTP2_SHIM_H
#define SLUICE_CNGHTTP2_SHIM_H

#include <nghttp2/nghttp2.h>

#endif
