// LD_PRELOAD library that counts heap allocations of a process and writes the total to the
// file $MALLOC_COUNT_FILE.<pid> when the process exits (one file per process: sluice's master
// and workers each report their own count). Used to check that a steady-state
// request through sluice allocates nothing (compare two runs that differ only in request count).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_long allocations;
static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);

// dlsym itself may call calloc before real_calloc is known: serve it from a static arena.
static char bootstrap[4096];
static size_t bootstrap_used;

static void resolve(void) {
    if (real_malloc) return;
    real_calloc = dlsym(RTLD_NEXT, "calloc");
    real_realloc = dlsym(RTLD_NEXT, "realloc");
    real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    real_malloc = dlsym(RTLD_NEXT, "malloc");
}

void *malloc(size_t n) { resolve(); atomic_fetch_add(&allocations, 1); return real_malloc(n); }

void *calloc(size_t a, size_t b) {
    if (!real_calloc) {
        void *p = bootstrap + bootstrap_used;
        bootstrap_used += (a * b + 15) & ~(size_t)15;
        return p;
    }
    atomic_fetch_add(&allocations, 1);
    return real_calloc(a, b);
}

void *realloc(void *p, size_t n) { resolve(); atomic_fetch_add(&allocations, 1); return real_realloc(p, n); }

int posix_memalign(void **p, size_t align, size_t n) {
    resolve();
    atomic_fetch_add(&allocations, 1);
    return real_posix_memalign(p, align, n);
}

void free(void *p) {
    static void (*real_free)(void *);
    if ((char *)p >= bootstrap && (char *)p < bootstrap + sizeof bootstrap) return;
    if (!real_free) real_free = dlsym(RTLD_NEXT, "free");
    real_free(p);
}

__attribute__((destructor)) static void report(void) {
    const char *path = getenv("MALLOC_COUNT_FILE");
    if (!path) return;
    char file[4096];
    snprintf(file, sizeof file, "%s.%d", path, (int)getpid());
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return;
    char line[32];
    int n = snprintf(line, sizeof line, "%ld\n", atomic_load(&allocations));
    write(fd, line, n);
    close(fd);
}
