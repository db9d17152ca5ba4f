// The relay thread's HTTP/1.1 connections: an http-fault's connections, relayed in C as long as its rule
// cannot match what they carry.
//
// Why: every http-fault request has to be looked at by the rule, so in JavaScript each costs the proxy
// child an entry into V8 per read both ways, which kept it below haproxy's requests/s (daemon/proxy/
// README.md). Here the relay thread frames each message (http-frame.c) and forwards it as the bytes it
// is, as long as the rule's methods, path glob or the headers it reads rule the request out. At the
// first request it cannot rule out (or cannot read as the JavaScript would: an upgrade, a head it
// would refuse), and once every earlier answer has been written, it hands both sockets and the
// unhandled bytes to JavaScript (http-proxy.ts), which serves the connection from that request on
// exactly as it serves one it accepted. JavaScript is the reference for every answer the proxy gives itself: the relay never writes
// HTTP of its own. Its part of a connection's life mirrors HttpConnection:
// - an upstream that ends ends both sides, after what was read is written (onUpstreamEnd);
// - a client that ends ends both sides once no request is open (maybeFinish); so does a drain;
// - an upstream that fails before the oldest open request's answer began: JavaScript answers 502;
// - a response the proxy cannot read ends both sides (as destroy() does);
// - a 101 answer makes the connection a plain byte relay both ways.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay.h"

struct http {
  hf_body req, res;
  int in_req, in_res; // within a body
  uint8_t *heads;     // per request awaiting its answer, oldest first: was it a HEAD
  size_t qstart, outstanding, qcap;
  int res_started; // the oldest request's answer has begun (a head, a 1xx)
  int raw;         // switched protocols: bytes both ways from here on
  int handoff;     // no further request is taken: JavaScript takes the connection once the earlier ones are answered
  const char *why; // a request body's framing error, for JavaScript's 400
  int ending;      // both sides end once what was read is written
  int draining;
  char label[320]; // the upstream, for JavaScript's 502
};

/** What JavaScript gets: the sockets (upstream -1 when it failed), the unhandled request bytes, and why. */
typedef struct {
  int client, upstream;
  char *bytes;
  size_t len;
  const char *why;
  char code[32];
  char label[320];
} handoff_t;

static hf_rule rule;
static napi_threadsafe_function tsfn;

int http_configured(void) { return tsfn != NULL; }

http_t *http_new(const char *label) {
  http_t *h = calloc(1, sizeof *h);
  if (h) snprintf(h->label, sizeof h->label, "%s", label);
  return h;
}

void http_free(http_t *h) {
  free(h->heads);
  free(h);
}

static int push(http_t *h, uint8_t is_head) {
  if (h->qstart + h->outstanding == h->qcap) {
    if (h->qstart > 0) {
      memmove(h->heads, h->heads + h->qstart, h->outstanding);
      h->qstart = 0;
    } else {
      size_t cap = h->qcap ? h->qcap * 2 : 8;
      uint8_t *q = realloc(h->heads, cap);
      if (!q) return 0;
      h->heads = q;
      h->qcap = cap;
    }
  }
  h->heads[h->qstart + h->outstanding++] = is_head;
  return 1;
}

static void answered(http_t *h) {
  h->qstart++;
  if (--h->outstanding == 0) h->qstart = 0;
  h->res_started = 0;
}

/** Requests: forwarded while the rule rules them out; at the first it does not, the hand-off is due. */
static void frame_requests(conn_t *c) {
  http_t *h = c->http;
  dir_t *d = &c->d[0];
  size_t p = d->ready;
  while (p < d->fill && !h->raw && !h->handoff && !h->ending) {
    const uint8_t *b = (const uint8_t *)d->buf + p;
    size_t n = d->fill - p;
    if (h->in_req) {
      const char *err = NULL;
      long k = hf_body_take(&h->req, b, n, &err);
      if (k < 0) {
        h->handoff = 1; // JavaScript answers 400 and ends both sides (badRequest)
        h->why = err;
        d->fill = p;    // what follows is dropped, as badRequest drops it
        break;
      }
      p += (size_t)k;
      if (hf_body_done(&h->req)) h->in_req = 0;
      continue;
    }
    long e = hf_head_end(b, n);
    if (e < 0) {
      if (n >= HF_MAX_HEAD) h->handoff = 1; // JavaScript reads on, and refuses it or not
      break;
    }
    hf_request r;
    if (hf_parse_request(b, (size_t)e, &r) < 0 || r.upgrade || !hf_rule_passes(&rule, &r) || !push(h, r.method_len == 4 && memcmp(r.method, "HEAD", 4) == 0)) {
      h->handoff = 1;
      break;
    }
    p += (size_t)e;
    if (r.framing != HF_NONE) {
      hf_body_init(&h->req, r.framing, r.length);
      h->in_req = 1;
    }
  }
  d->ready = h->raw ? d->fill : p;
}

/** Responses: followed to know when each request is answered. 0 when one could not be read (the connection ended). */
static int frame_responses(conn_t *c) {
  http_t *h = c->http;
  dir_t *d = &c->d[1];
  size_t p = d->ready;
  while (p < d->fill && !h->raw) {
    const uint8_t *b = (const uint8_t *)d->buf + p;
    size_t n = d->fill - p;
    if (h->in_res) {
      const char *err = NULL;
      long k = hf_body_take(&h->res, b, n, &err);
      if (k < 0) goto unreadable;
      p += (size_t)k;
      if (hf_body_done(&h->res)) {
        h->in_res = 0;
        answered(h);
      }
      continue;
    }
    if (h->outstanding == 0) goto unreadable; // a response without a request
    long e = hf_head_end(b, n);
    if (e < 0) {
      if (n >= HF_MAX_HEAD) goto unreadable;
      break;
    }
    hf_response r;
    if (hf_parse_response(b, (size_t)e, h->heads[h->qstart], &r) < 0) goto unreadable;
    p += (size_t)e;
    h->res_started = 1;
    if (r.status == 101) {
      answered(h);
      h->raw = 1;
      break;
    }
    if (r.status < 200) continue; // 100 Continue and friends: the final answer follows for the same request
    if (r.framing == HF_NONE) answered(h);
    else {
      hf_body_init(&h->res, r.framing, r.length);
      h->in_res = 1;
    }
  }
  if (d->eof && h->in_res && hf_body_until_close(&h->res)) {
    h->in_res = 0;
    answered(h);
  }
  if (h->raw) {
    // from here on a byte relay: the client's unframed bytes go on too, and nothing is handed off
    d->ready = d->fill;
    c->d[0].ready = c->d[0].fill;
    h->handoff = 0;
    h->why = NULL;
    return 1;
  }
  d->ready = p;
  return 1;
unreadable:
  d->ready = p; // the answers read whole before it still go out (as in http-proxy.ts)
  if (relay_flush(c, 1)) relay_finish(c, 0);
  return 0;
}

int http_frame(conn_t *c, int i) {
  if (i == 1) return frame_responses(c);
  frame_requests(c);
  return 1;
}

int http_readable(const conn_t *c, int i) {
  const http_t *h = c->http;
  if (h->raw) return 1;
  if (h->ending) return 0;
  return i == 1 || !h->handoff;
}

int http_passes_fin(const conn_t *c) { return c->http->raw; }

void http_drain(conn_t *c) { c->http->draining = 1; }

static void hand_off(conn_t *c, int upstream_err) {
  http_t *h = c->http;
  dir_t *d = &c->d[0];
  handoff_t *m = tsfn ? calloc(1, sizeof *m) : NULL;
  if (m && !upstream_err && !h->why && d->fill > d->ready) {
    m->len = d->fill - d->ready;
    m->bytes = malloc(m->len);
    if (m->bytes) memcpy(m->bytes, d->buf + d->ready, m->len);
  }
  if (!m || (m->len && !m->bytes)) {
    if (m) free(m);
    relay_finish(c, 1);
    return;
  }
  m->client = c->fd[0];
  m->upstream = upstream_err ? -1 : c->fd[1];
  m->why = h->why;
  if (upstream_err) {
    const char *name = strerrorname_np(upstream_err);
    snprintf(m->code, sizeof m->code, "%s", name ? name : "EIO");
  }
  snprintf(m->label, sizeof m->label, "%s", h->label);
  relay_detach(c);
  if (upstream_err) close(c->fd[1]);
  if (napi_call_threadsafe_function(tsfn, m, napi_tsfn_nonblocking) != napi_ok) {
    close(m->client);
    if (m->upstream >= 0) close(m->upstream);
    free(m->bytes);
    free(m);
    relay_handed();
  }
}

void http_error(conn_t *c, int i, int err) {
  http_t *h = c->http;
  if (!h->raw && !h->ending && i == 1 && h->outstanding > 0 && !h->res_started && !pending(&c->d[1])) return hand_off(c, err);
  relay_finish(c, 1);
}

static int idle(const conn_t *c) {
  const http_t *h = c->http;
  return h->outstanding == 0 && !h->in_req && !h->handoff && c->d[0].ready == c->d[0].fill;
}

int http_settle(conn_t *c) {
  http_t *h = c->http;
  // A byte relay now: a client FIN read before the switch, with nothing left to write, goes on here
  // (nothing else would flush that direction again).
  if (h->raw) return c->d[0].eof && !c->d[0].shut && !pending(&c->d[0]) ? relay_flush(c, 0) : 1;
  const dir_t *up = &c->d[0], *down = &c->d[1];
  if (down->eof) h->ending = 1; // the upstream ended: both sides end (requests still open get no answer)
  else if (h->handoff && h->outstanding == 0 && !pending(up) && !pending(down)) {
    hand_off(c, 0);
    return 0;
  } else if ((up->eof || h->draining) && idle(c)) h->ending = 1;
  if (h->ending && !pending(up) && !pending(down)) {
    shutdown(c->fd[0], SHUT_WR);
    shutdown(c->fd[1], SHUT_WR);
    relay_finish(c, 0);
    return 0;
  }
  return 1;
}

// ---- the JavaScript side

static void call_js(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)context;
  handoff_t *m = data;
  if (env) {
    napi_value args[6], undefined;
    napi_get_undefined(env, &undefined);
    napi_create_int32(env, m->client, &args[0]);
    napi_create_int32(env, m->upstream, &args[1]);
    if (m->len) napi_create_buffer_copy(env, m->len, m->bytes, NULL, &args[2]);
    else args[2] = undefined;
    if (m->why) napi_create_string_utf8(env, m->why, NAPI_AUTO_LENGTH, &args[3]);
    else args[3] = undefined;
    if (m->code[0]) napi_create_string_utf8(env, m->code, NAPI_AUTO_LENGTH, &args[4]);
    else args[4] = undefined;
    napi_create_string_utf8(env, m->label, NAPI_AUTO_LENGTH, &args[5]);
    napi_call_function(env, undefined, js_cb, 6, args, NULL); // a throw is the process's uncaughtException
  } else {
    close(m->client); // the process is going away
    if (m->upstream >= 0) close(m->upstream);
  }
  relay_handed();
  free(m->bytes);
  free(m);
}

static napi_value fail(napi_env env, const char *what) {
  napi_throw_type_error(env, NULL, what);
  return NULL;
}

/**
 * obj[field], an optional array of at most 64 strings of 1-62 bytes, as malloc'd C strings in upper
 * (methods, as compileMatcher's set) or lower case (header names, as scanHead compares them), whatever
 * case the caller used. NULL, or what is wrong.
 */
static const char *read_names(napi_env env, napi_value obj, const char *field, int upper, char ***out, size_t *count) {
  static char why[96];
  bool has;
  napi_value v;
  uint32_t n = 0;
  if (napi_has_named_property(env, obj, field, &has) != napi_ok || !has) return NULL;
  napi_get_named_property(env, obj, field, &v);
  snprintf(why, sizeof why, "%s: an array of at most 64 strings of 1-62 bytes", field);
  if (napi_get_array_length(env, v, &n) != napi_ok || n > 64) return why;
  if (!(*out = calloc(n ? n : 1, sizeof **out))) return "out of memory";
  for (uint32_t k = 0; k < n; k++) {
    napi_value s;
    size_t len;
    char buf[64];
    napi_get_element(env, v, k, &s);
    if (napi_get_value_string_latin1(env, s, buf, sizeof buf, &len) != napi_ok || len == 0 || len >= sizeof buf - 1) return why;
    for (size_t i = 0; i < len; i++)
      if (upper ? buf[i] >= 'a' && buf[i] <= 'z' : buf[i] >= 'A' && buf[i] <= 'Z') buf[i] ^= 32;
    if (!((*out)[k] = strdup(buf))) return "out of memory";
    *count = k + 1;
  }
  return NULL;
}

/**
 * http({ methods?: string[], glob?: number[], headers?: string[] }, onHandoff): the rule's methods (upper case), its
 * path glob as tokens (a byte, or 0x100 `*`, 0x101 `**`, 0x102 `?`), the (lower-case) names of the headers its
 * regexes read, and the function that takes a
 * connection on: onHandoff(clientFd, upstreamFd | -1, bytes?, why?, upstreamErrorCode?, label).
 * Once per process (a proxy child runs one proxy).
 */
napi_value http_configure(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_valuetype t0, t1;
  if (argc < 2 || napi_typeof(env, argv[0], &t0) != napi_ok || t0 != napi_object || napi_typeof(env, argv[1], &t1) != napi_ok || t1 != napi_function)
    return fail(env, "http(rule, onHandoff) takes an object and a function");
  if (tsfn) return fail(env, "http() was already called");
  // read into a rule of its own first: a bad argument leaves nothing half set
  hf_rule r = {0};
  const char *bad = NULL;
  bool has;
  napi_value v;
  uint32_t n = 0;
  bad = read_names(env, argv[0], "methods", 1, &r.methods, &r.n_methods);
  if (!bad) bad = read_names(env, argv[0], "headers", 0, &r.headers, &r.n_headers);
  if (!bad && napi_has_named_property(env, argv[0], "glob", &has) == napi_ok && has) {
    napi_get_named_property(env, argv[0], "glob", &v);
    if (napi_get_array_length(env, v, &n) != napi_ok || n > 1024) bad = "glob: an array of at most 1024 tokens";
    else if (!(r.glob = calloc(n + 1, sizeof *r.glob))) bad = "out of memory";
    for (uint32_t k = 0; !bad && k < n; k++) {
      napi_value x;
      uint32_t tok;
      napi_get_element(env, v, k, &x);
      if (napi_get_value_uint32(env, x, &tok) != napi_ok || tok > HF_GLOB_ONE) bad = "glob: tokens are 0-0x102";
      else r.glob[k] = (uint16_t)tok;
    }
    r.glob_len = n;
  }
  if (bad) {
    for (size_t k = 0; k < r.n_methods; k++) free(r.methods[k]);
    for (size_t k = 0; k < r.n_headers; k++) free(r.headers[k]);
    free(r.methods);
    free(r.headers);
    free(r.glob);
    return fail(env, bad);
  }
  rule = r;
  napi_value name;
  napi_create_string_utf8(env, "faultline-relay-handoff", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[1], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &tsfn) != napi_ok) return fail(env, "cannot create the hand-off function");
  napi_unref_threadsafe_function(env, tsfn); // the proxy's server keeps the process alive, not this
  return NULL;
}
