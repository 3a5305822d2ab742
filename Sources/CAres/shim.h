// c-ares for Swift (Debian's libc-ares-dev 1.18). Swift imports all that sluice uses from it: the
// status, option and flag constants are plain integer macros, so nothing needs a C wrapper here.
#ifndef SLUICE_CARES_SHIM_H
#define SLUICE_CARES_SHIM_H

#include <ares.h>

#endif
