// Linux system interfaces that Swift's Glibc module does not export.
// Functions are real C wrappers (see CLinux.c) so that errno is set by the call itself.
#ifndef SLUICE_CLINUX_H
#define SLUICE_CLINUX_H

#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>

int sl_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
/// Number of CPUs this process may run on (sched_getaffinity), at least 1.
int sl_cpu_count(void);
/// Sets the process name shown by ps and top (prctl PR_SET_NAME, 15 characters).
int sl_set_process_name(const char *name);
/// Asks the kernel to send SIGTERM to this process when its parent (the master) dies.
int sl_die_with_parent(void);


static const uint32_t SL_EPOLLIN = EPOLLIN;
static const uint32_t SL_EPOLLOUT = EPOLLOUT;
static const uint32_t SL_EPOLLERR = EPOLLERR;
static const uint32_t SL_EPOLLHUP = EPOLLHUP;
static const uint32_t SL_EPOLLRDHUP = EPOLLRDHUP;
static const uint32_t SL_EPOLLET = EPOLLET;
static const uint32_t SL_EPOLLEXCLUSIVE = EPOLLEXCLUSIVE;
static const int SL_SOCK_NONBLOCK = SOCK_NONBLOCK;
static const int SL_SOCK_CLOEXEC = SOCK_CLOEXEC;

#endif
