// faultline-relay.node: relays the fault proxy's connections that no toxic touches, on one thread of
// its own, in C.
//
// Why: in JavaScript every read costs the proxy child an entry into V8 from libuv (and libuv an extra
// zero-timeout epoll_wait for its idle-time metric), which is what put its added round trip a few
// microseconds above haproxy's. Here a relayed hop is what it is in any C relay: epoll_wait, read,
// write. A connection a toxic acts on stays in JavaScript (daemon/proxy/link.ts); so does every
// connection on a host where this is not built.
//
//   add(fdA: number, fdB: number) => void   takes over a connected pair: both fds are duplicated here
//                                            (the caller then closes its own) and relayed both ways
//   http(rule, onHandoff) => void             an http-fault's rule, and where its connections go when
//                                            the relay cannot take a request on (relay-http.c)
//   addHttp(client: number, upstream: number, label: string) => void
//                                            the same for an HTTP/1.1 connection, framed message by message
//   open() => number                         connections still being relayed (or on their way to JavaScript)
//   drain() => void                          HTTP connections end once idle (a drain's start)
//   cutAll() => void                         closes every one of them (a drain's deadline)
//
// Semantics follow the JavaScript pass-through: bytes are passed on as they arrive (TCP_NODELAY on both
// sides), a FIN is passed on once everything before it is written, a reset is passed on as a reset,
// and reading a side stops while the other side has not taken what was read (the backpressure: one
// buffer in flight per direction). A direction's buffer starts at 16 KiB and grows x4 up to 4 MiB
// while reads fill it, past 64 KiB out of a 64 MiB budget for the process, as in growing-reader.ts.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <node_api.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay.h"

// 16 KiB to start, as the JavaScript HTTP proxy's sockets do: an idle keep-alive connection holds two of them.
// Growth to 64 KiB (an HTTP head's limit) is always allowed; past that it comes out of the budget.
#define FIRST_BUF (16 * 1024)
#define HEAD_BUF (64 * 1024)
#define MAX_BUF (4 * 1024 * 1024)
#define BUDGET ((long)64 * 1024 * 1024)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int ep = -1, wake = -1;
static conn_t *conns;      // every live connection (under lock)
static conn_t *graveyard;  // closed during an event batch, freed after it
static atomic_int open_count;
static atomic_int cut_requested;
static atomic_int drain_requested;
static long budget_used; // buffer bytes allocated (only the relay thread allocates)

static void free_dir(dir_t *d) {
  if (d->buf) {
    budget_used -= (long)d->cap;
    free(d->buf);
    d->buf = NULL;
  }
}

/** Out of the list and its buffers freed; the fds are the caller's business. */
static void unlink_conn(conn_t *c) {
  c->dead = 1;
  for (int i = 0; i < 2; i++) free_dir(&c->d[i]);
  if (c->prev) c->prev->next = c->next;
  else conns = c->next;
  if (c->next) c->next->prev = c->prev;
  c->next = graveyard;
  graveyard = c;
}

void relay_finish(conn_t *c, int reset) {
  if (c->dead) return;
  for (int i = 0; i < 2; i++) {
    if (reset) {
      struct linger l = {1, 0};
      setsockopt(c->fd[i], SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    close(c->fd[i]); // also leaves the epoll set
  }
  unlink_conn(c);
  atomic_fetch_sub(&open_count, 1);
}

void relay_detach(conn_t *c) {
  if (c->dead) return;
  for (int i = 0; i < 2; i++)
    if (c->want[i]) epoll_ctl(ep, EPOLL_CTL_DEL, c->fd[i], NULL);
  unlink_conn(c); // still counted open until JavaScript has it (relay_handed)
}

void relay_handed(void) { atomic_fetch_sub(&open_count, 1); }

/**
 * Whether fd[i] is read now: not ended, its direction has nothing left to write, its buffer has room
 * once the written bytes are moved out (pull does that; a buffer full of unframed bytes that could not
 * grow, out of memory, is not read into: no busy loop), and an HTTP connection takes requests from it.
 */
static int may_read(const conn_t *c, int i) {
  const dir_t *d = &c->d[i];
  return !d->eof && !pending(d) && (!d->buf || d->fill - d->off < d->cap) && (!c->http || http_readable(c, i));
}

/**
 * Registers what fd[i] should be watched for now: readable while its direction has nothing left to
 * write (and an HTTP connection may read it), writable while the other has bytes for it. Nothing to
 * watch: out of the set, since a hung-up socket would otherwise report EPOLLHUP (which no interest
 * mask turns off) on every wait until its peer direction drains.
 */
static void update(conn_t *c, int i) {
  uint32_t want = 0;
  if (may_read(c, i)) want |= EPOLLIN;
  if (pending(&c->d[1 - i])) want |= EPOLLOUT;
  if (want == c->want[i]) return;
  struct epoll_event ev = {.events = want, .data.ptr = &c->end[i]};
  epoll_ctl(ep, want == 0 ? EPOLL_CTL_DEL : c->want[i] == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c->fd[i], &ev);
  c->want[i] = want;
}

static void fail(conn_t *c, int i, int err) {
  if (c->http) http_error(c, i, err);
  else relay_finish(c, 1); // the peer is gone (EPIPE, ECONNRESET): the other side learns it as a reset
}

/** Writes what d[i] has ready to fd[1 - i]; passes a FIN on once all is written. Returns 0 when the connection ended. */
int relay_flush(conn_t *c, int i) {
  dir_t *d = &c->d[i];
  int to = c->fd[1 - i];
  while (pending(d)) {
    ssize_t n = send(to, d->buf + d->off, d->ready - d->off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return 1;
      fail(c, 1 - i, errno);
      return 0;
    }
    d->off += (size_t)n;
  }
  if (d->ready == d->fill) d->off = d->ready = d->fill = 0;
  if (d->eof && !d->shut && d->fill == 0 && (!c->http || http_passes_fin(c))) {
    shutdown(to, SHUT_WR);
    d->shut = 1;
    if (c->d[1 - i].shut) {
      relay_finish(c, 0); // FIN both ways, everything written
      return 0;
    }
  }
  return 1;
}

/** One read from fd[i] into its direction, framed and written on at once. Returns 0 when the connection ended. */
static int pull(conn_t *c, int i) {
  dir_t *d = &c->d[i];
  if (!d->buf) {
    d->buf = malloc(FIRST_BUF);
    if (!d->buf) return 1; // try again at the next event
    d->cap = FIRST_BUF;
    budget_used += FIRST_BUF;
  }
  if (d->off > 0) {
    // everything framed before is written: the unframed rest moves to the start
    memmove(d->buf, d->buf + d->off, d->fill - d->off);
    d->fill -= d->off;
    d->ready -= d->off;
    d->off = 0;
  }
  ssize_t n = recv(c->fd[i], d->buf + d->fill, d->cap - d->fill, 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return 1;
    fail(c, i, errno); // ECONNRESET and the like: passed on as a reset
    return 0;
  }
  if (n == 0) {
    d->eof = 1;
  } else {
    d->fill += (size_t)n;
    // a read that filled the buffer: the next ones get a bigger one (fewer calls per byte), within the budget
    if (d->fill == d->cap && d->cap < MAX_BUF && (d->cap < HEAD_BUF || budget_used + (long)d->cap * 3 <= BUDGET)) {
      char *bigger = malloc(d->cap * 4);
      if (bigger) {
        memcpy(bigger, d->buf, d->fill);
        free(d->buf);
        budget_used += (long)d->cap * 3;
        d->buf = bigger;
        d->cap *= 4;
      }
    }
  }
  if (!c->http) d->ready = d->fill;
  else if (!http_frame(c, i)) return 0;
  return relay_flush(c, i);
}

static void *relay_main(void *arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "fl-relay"); // how tests and `top -H` tell it apart
  struct epoll_event evs[64];
  for (;;) {
    int n = epoll_wait(ep, evs, 64, -1);
    if (n < 0) continue; // EINTR
    pthread_mutex_lock(&lock);
    for (int k = 0; k < n; k++) {
      if (evs[k].data.ptr == NULL) {
        uint64_t v;
        if (read(wake, &v, sizeof v) < 0) { /* spurious */ }
        if (atomic_exchange(&cut_requested, 0))
          while (conns) relay_finish(conns, 0);
        if (atomic_exchange(&drain_requested, 0)) {
          for (conn_t *c = conns, *next; c; c = next) {
            next = c->next;
            if (!c->http) continue;
            http_drain(c);
            if (http_settle(c)) {
              update(c, 0);
              update(c, 1);
            }
          }
        }
        continue;
      }
      end_t *e = evs[k].data.ptr;
      conn_t *c = e->c;
      int i = e->i;
      if (c->dead) continue;
      uint32_t ev = evs[k].events;
      if (ev & EPOLLERR) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd[i], SOL_SOCKET, SO_ERROR, &err, &len);
        fail(c, i, err ? err : ECONNRESET);
        continue;
      }
      // writable first: a side that takes bytes again frees its peer's direction for reading
      if ((ev & EPOLLOUT) && pending(&c->d[1 - i]) && !relay_flush(c, 1 - i)) continue;
      if ((ev & (EPOLLIN | EPOLLHUP)) && may_read(c, i) && !pull(c, i)) continue;
      if (c->http && !http_settle(c)) continue;
      update(c, 0);
      update(c, 1);
    }
    while (graveyard) {
      conn_t *c = graveyard;
      graveyard = c->next;
      if (c->http) http_free(c->http);
      free(c);
    }
    pthread_mutex_unlock(&lock);
  }
  return NULL;
}

static int started(void) {
  if (ep >= 0) return 1;
  ep = epoll_create1(EPOLL_CLOEXEC);
  wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (ep < 0 || wake < 0) return 0;
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, wake, &ev) < 0) return 0;
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int rc = pthread_create(&t, &attr, relay_main, NULL);
  pthread_attr_destroy(&attr);
  return rc == 0;
}

static napi_value throw_errno(napi_env env, const char *what) {
  napi_throw_error(env, "ERELAY", what);
  return NULL;
}

static void wake_relay(void) {
  uint64_t one = 1;
  if (write(wake, &one, sizeof one) < 0) { /* the counter is full: a wakeup is pending anyway */ }
}

/** add(fdA, fdB) and addHttp(client, upstream, label): duplicates both fds and relays them. */
static napi_value add_conn(napi_env env, napi_callback_info info, int http) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fds[2];
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fds[0]) != napi_ok || napi_get_value_int32(env, argv[1], &fds[1]) != napi_ok || fds[0] < 0 || fds[1] < 0) {
    napi_throw_type_error(env, NULL, "add(fdA, fdB) takes two file descriptors");
    return NULL;
  }
  char label[320] = "";
  if (http) {
    size_t len;
    if (argc < 3 || napi_get_value_string_utf8(env, argv[2], label, sizeof label, &len) != napi_ok) {
      napi_throw_type_error(env, NULL, "addHttp(client, upstream, label) takes a label");
      return NULL;
    }
    if (!http_configured()) return throw_errno(env, "http() was not called");
  }
  pthread_mutex_lock(&lock);
  if (!started()) {
    pthread_mutex_unlock(&lock);
    return throw_errno(env, "cannot start the relay thread");
  }
  conn_t *c = calloc(1, sizeof *c);
  if (c && http && !(c->http = http_new(label))) {
    free(c);
    c = NULL;
  }
  if (!c) {
    pthread_mutex_unlock(&lock);
    return throw_errno(env, "out of memory");
  }
  c->fd[0] = fcntl(fds[0], F_DUPFD_CLOEXEC, 0);
  c->fd[1] = c->fd[0] < 0 ? -1 : fcntl(fds[1], F_DUPFD_CLOEXEC, 0);
  if (c->fd[1] < 0) {
    if (c->fd[0] >= 0) close(c->fd[0]);
    if (c->http) http_free(c->http);
    free(c);
    pthread_mutex_unlock(&lock);
    return throw_errno(env, "cannot duplicate the connection's descriptors");
  }
  int one = 1;
  for (int i = 0; i < 2; i++) {
    fcntl(c->fd[i], F_SETFL, fcntl(c->fd[i], F_GETFL) | O_NONBLOCK);
    setsockopt(c->fd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->end[i] = (end_t){c, i};
  }
  c->next = conns;
  if (conns) conns->prev = c;
  conns = c;
  atomic_fetch_add(&open_count, 1);
  for (int i = 0; i < 2; i++) {
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &c->end[i]};
    c->want[i] = EPOLLIN;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd[i], &ev) < 0) {
      relay_finish(c, 1);
      break;
    }
  }
  pthread_mutex_unlock(&lock);
  return NULL;
}

static napi_value add(napi_env env, napi_callback_info info) { return add_conn(env, info, 0); }
static napi_value add_http(napi_env env, napi_callback_info info) { return add_conn(env, info, 1); }

static napi_value open_conns(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_create_int32(env, atomic_load(&open_count), &v);
  return v;
}

static napi_value cut_all(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
  if (wake < 0) return NULL;
  atomic_store(&cut_requested, 1);
  wake_relay();
  return NULL;
}

static napi_value drain(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
  if (wake < 0) return NULL;
  atomic_store(&drain_requested, 1);
  wake_relay();
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "add", NAPI_AUTO_LENGTH, add, NULL, &fn);
  napi_set_named_property(env, exports, "add", fn);
  napi_create_function(env, "open", NAPI_AUTO_LENGTH, open_conns, NULL, &fn);
  napi_set_named_property(env, exports, "open", fn);
  napi_create_function(env, "cutAll", NAPI_AUTO_LENGTH, cut_all, NULL, &fn);
  napi_set_named_property(env, exports, "cutAll", fn);
  napi_create_function(env, "addHttp", NAPI_AUTO_LENGTH, add_http, NULL, &fn);
  napi_set_named_property(env, exports, "addHttp", fn);
  napi_create_function(env, "http", NAPI_AUTO_LENGTH, http_configure, NULL, &fn);
  napi_set_named_property(env, exports, "http", fn);
  napi_create_function(env, "drain", NAPI_AUTO_LENGTH, drain, NULL, &fn);
  napi_set_named_property(env, exports, "drain", fn);
  return exports;
}
