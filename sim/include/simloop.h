/* SPDX-License-Identifier: MIT */
/* The emulator daemon's single-threaded event loop (epoll).  Callbacks may
 * add or delete any registration, including their own, while dispatching:
 * a deleted registration is never called again and is freed after the
 * current batch. */
#ifndef XENSIM_SIMLOOP_H
#define XENSIM_SIMLOOP_H

#include <stdint.h>

struct simloop;
typedef void (*simloop_cb)(void *arg, uint32_t events);

struct simloop *simloop_new(void);
void simloop_free(struct simloop *l);
/* events: EPOLLIN / EPOLLOUT / ... (level-triggered). */
int simloop_add(struct simloop *l, int fd, uint32_t events, simloop_cb cb, void *arg);
int simloop_mod(struct simloop *l, int fd, uint32_t events);
int simloop_del(struct simloop *l, int fd);
/* Run a callback after `ms` milliseconds (once). */
int simloop_timer(struct simloop *l, unsigned ms, void (*fn)(void *arg), void *arg);
/* Dispatch until simloop_stop(); returns 0, or -errno on a loop failure. */
int simloop_run(struct simloop *l);
void simloop_stop(struct simloop *l);

#endif
