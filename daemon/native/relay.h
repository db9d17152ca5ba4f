// The relay thread's connections (relay.c), shared with the HTTP connections' framing (relay-http.c).
#ifndef FAULTLINE_RELAY_H
#define FAULTLINE_RELAY_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

#include "http-frame.h"

struct conn;

// One direction: bytes read from fd[from] in buf[0, fill). buf[off, ready) are to be written to the
// other fd; buf[ready, fill) are read but not yet framed (an HTTP head still arriving). A plain
// connection frames nothing: ready is fill.
typedef struct {
  char *buf;
  size_t cap, off, ready, fill;
  int eof;  // fd[from] said FIN
  int shut; // the FIN was passed on
} dir_t;

// What an epoll event points at: one end of a connection.
typedef struct {
  struct conn *c;
  int i;
} end_t;

typedef struct http http_t;

typedef struct conn {
  int fd[2]; // fd[0] the client, fd[1] the upstream
  dir_t d[2]; // d[i]: from fd[i] to fd[1 - i]
  end_t end[2];
  uint32_t want[2]; // the epoll interest registered for fd[i]
  int dead;
  http_t *http; // NULL: a plain byte relay
  struct conn *next, *prev;
} conn_t;

static inline int pending(const dir_t *d) { return d->ready > d->off; }

// relay.c
/** Closes both fds (with `reset`, as RST) and moves the connection to the graveyard. */
void relay_finish(conn_t *c, int reset);
/** Takes the connection out of the relay without closing its fds (they go to JavaScript). */
void relay_detach(conn_t *c);
/** A detached connection is JavaScript's now: it no longer counts as open here. */
void relay_handed(void);
/** Writes what d[i] has ready to fd[1 - i]. 0 when that ended the connection. */
int relay_flush(conn_t *c, int i);

// relay-http.c
/** Frames what the last read added to d[i]. 0 when that ended the connection. */
int http_frame(conn_t *c, int i);
/** Acts on the connection's state after an event (hand-off, end). 0 when the connection left the relay. */
int http_settle(conn_t *c);
/** Whether fd[i] of an HTTP connection may be read now. */
int http_readable(const conn_t *c, int i);
/** Whether d[i]'s FIN is passed on (an HTTP connection ends both sides itself, until it is raw bytes). */
int http_passes_fin(const conn_t *c);
/** An error on fd[i]: a 502 for JavaScript to give when no answer has started, else a reset. */
void http_error(conn_t *c, int i, int err);
http_t *http_new(const char *label);
void http_free(http_t *h);
void http_drain(conn_t *c);
/** The rule and the hand-off callback (called on the JavaScript thread). */
napi_value http_configure(napi_env env, napi_callback_info info);
int http_configured(void);

#endif
