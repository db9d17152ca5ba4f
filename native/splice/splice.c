// Kernel-side relay for the fault proxy's no-toxic connections: bytes go socket → pipe → socket with
// splice(2), never through user space. One epoll thread per process serves every relayed connection;
// JS hands over a connection's two sockets (it stops reading them first) and gets one callback when
// the connection is over. See daemon/proxy/splice.ts for the JS side and why.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

// A pipe of 1 MiB lets one splice move up to that much: fewer, larger moves, as the JS path's 4 MiB
// reads did. The kernel may refuse the size (non-root past pipe-user-pages-soft): 64 KiB still works.
#define PIPE_BYTES (1 << 20)

typedef struct {
  int src, dst;      // the relay's own duplicates of the sockets
  int pipe_r, pipe_w;
  size_t in_pipe;    // bytes read from src, not yet written to dst
  int eof;           // src has sent FIN
  int shut;          // FIN passed on to dst
  uint64_t bytes;
} direction_t;

typedef struct relay {
  uint32_t id;
  int a, b;
  direction_t ab, ba;
  int done;
  struct relay *next;  // live list, or the list of relays to free after the current batch
} relay_t;

typedef struct command {
  enum { ADD, CANCEL } type;
  relay_t *relay;      // ADD
  uint32_t id;         // CANCEL
  struct command *next;
} command_t;

typedef struct {
  uint32_t id;
  int err;
  double ab, ba;
} result_t;

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static command_t *queue_head, *queue_tail;
static int epoll_fd = -1, wake_fd = -1;
static napi_threadsafe_function on_done;
static uint32_t next_id = 1;
static relay_t *live, *dead;

static void close_direction_pipe(direction_t *d) {
  if (d->pipe_r >= 0) close(d->pipe_r);
  if (d->pipe_w >= 0) close(d->pipe_w);
}

static void free_relay_fds(relay_t *r) {
  if (r->a >= 0) close(r->a);
  if (r->b >= 0) close(r->b);
  close_direction_pipe(&r->ab);
  close_direction_pipe(&r->ba);
}

static void finish(relay_t *r, int err) {
  if (r->done) return;
  r->done = 1;
  // Closing our duplicates also takes them out of the epoll set. The sockets themselves stay open
  // until JS closes its descriptors, so JS decides how the connection ends (FIN or reset).
  free_relay_fds(r);
  relay_t **p = &live;
  while (*p && *p != r) p = &(*p)->next;
  if (*p) *p = r->next;
  r->next = dead;
  dead = r;
  result_t *res = malloc(sizeof *res);
  if (!res) return;
  res->id = r->id;
  res->err = err;
  res->ab = (double)r->ab.bytes;
  res->ba = (double)r->ba.bytes;
  napi_call_threadsafe_function(on_done, res, napi_tsfn_blocking);
}

// Moves what it can in one direction until the kernel says wait. Returns 0, or the errno that ends
// the connection. Reads only into an empty pipe, so EAGAIN on a read always means "src has nothing".
static int progress(direction_t *d) {
  for (;;) {
    if (d->in_pipe > 0) {
      ssize_t n = splice(d->pipe_r, NULL, d->dst, NULL, d->in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno == EAGAIN ? 0 : errno;
      }
      d->in_pipe -= (size_t)n;
      d->bytes += (uint64_t)n;
      continue;
    }
    if (d->eof) {
      if (!d->shut) {
        d->shut = 1;
        if (shutdown(d->dst, SHUT_WR) < 0 && errno != ENOTCONN) return errno;
      }
      return 0;
    }
    ssize_t n = splice(d->src, NULL, d->pipe_w, NULL, PIPE_BYTES, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN ? 0 : errno;
    }
    if (n == 0) d->eof = 1;
    else d->in_pipe += (size_t)n;
  }
}

// Edge-triggered: any event on either socket runs both directions until each waits again.
static void step(relay_t *r) {
  int err = progress(&r->ab);
  if (!err) err = progress(&r->ba);
  if (err) finish(r, err);
  else if (r->ab.shut && r->ba.shut) finish(r, 0);
}

static void run_commands(void) {
  uint64_t count;
  while (read(wake_fd, &count, sizeof count) > 0) {
  }
  pthread_mutex_lock(&queue_lock);
  command_t *c = queue_head;
  queue_head = queue_tail = NULL;
  pthread_mutex_unlock(&queue_lock);
  while (c) {
    command_t *next = c->next;
    if (c->type == ADD) {
      relay_t *r = c->relay;
      r->next = live;
      live = r;
      struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = r};
      if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, r->a, &ev) < 0 || epoll_ctl(epoll_fd, EPOLL_CTL_ADD, r->b, &ev) < 0) finish(r, errno);
      else step(r);
    } else {
      relay_t *r = live;
      while (r && r->id != c->id) r = r->next;
      if (r) finish(r, ECANCELED);
    }
    free(c);
    c = next;
  }
}

static void *loop(void *unused) {
  (void)unused;
  struct epoll_event events[64];
  for (;;) {
    int n = epoll_wait(epoll_fd, events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return NULL;
    }
    for (int i = 0; i < n; i++) {
      relay_t *r = events[i].data.ptr;
      if (r == NULL) run_commands();
      else if (!r->done) step(r);
    }
    // Freed only now: an earlier event of this batch may have finished a relay a later one names.
    while (dead) {
      relay_t *next = dead->next;
      free(dead);
      dead = next;
    }
  }
}

static void enqueue(command_t *c) {
  pthread_mutex_lock(&queue_lock);
  if (queue_tail) queue_tail->next = c;
  else queue_head = c;
  queue_tail = c;
  pthread_mutex_unlock(&queue_lock);
  uint64_t one = 1;
  ssize_t ignored = write(wake_fd, &one, sizeof one);
  (void)ignored;
}

static void call_js(napi_env env, napi_value callback, void *context, void *data) {
  (void)context;
  result_t *res = data;
  if (env != NULL) {
    napi_value argv[4], undefined;
    napi_create_uint32(env, res->id, &argv[0]);
    napi_create_int32(env, res->err, &argv[1]);
    napi_create_double(env, res->ab, &argv[2]);
    napi_create_double(env, res->ba, &argv[3]);
    napi_get_undefined(env, &undefined);
    napi_call_function(env, undefined, callback, 4, argv, NULL);
  }
  free(res);
}

static napi_value throw_errno(napi_env env, const char *what) {
  char message[160];
  snprintf(message, sizeof message, "%s: %s", what, strerror(errno));
  napi_throw_error(env, NULL, message);
  return NULL;
}

// setup(onDone(id, errno, bytesAtoB, bytesBtoA)): once per process, before the first relay.
static napi_value setup(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], name;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (epoll_fd >= 0) {
    napi_throw_error(env, NULL, "splice relay is set up already");
    return NULL;
  }
  epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) return throw_errno(env, "epoll_create1");
  wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd < 0) return throw_errno(env, "eventfd");
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &ev) < 0) return throw_errno(env, "epoll_ctl");
  napi_create_string_utf8(env, "faultline-splice", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[0], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &on_done) != napi_ok) return NULL;
  // Relays alone never keep the process alive: the proxy's server and timers decide that.
  napi_unref_threadsafe_function(env, on_done);
  pthread_t thread;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  errno = pthread_create(&thread, &attr, loop, NULL);
  pthread_attr_destroy(&attr);
  if (errno) return throw_errno(env, "pthread_create");
  return NULL;
}

static int open_direction(direction_t *d, int src, int dst) {
  int fds[2];
  d->src = src;
  d->dst = dst;
  d->pipe_r = d->pipe_w = -1;
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) return -1;
  d->pipe_r = fds[0];
  d->pipe_w = fds[1];
  fcntl(d->pipe_w, F_SETPIPE_SZ, PIPE_BYTES);
  return 0;
}

// relay(fdA, fdB) → id: relays both directions until both have ended (0), or one fails (errno).
static napi_value relay(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  int32_t fd_a, fd_b;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (epoll_fd < 0) {
    napi_throw_error(env, NULL, "splice relay is not set up");
    return NULL;
  }
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd_a) != napi_ok || napi_get_value_int32(env, argv[1], &fd_b) != napi_ok) {
    napi_throw_type_error(env, NULL, "relay(fdA, fdB) takes two file descriptors");
    return NULL;
  }
  relay_t *r = calloc(1, sizeof *r);
  command_t *c = calloc(1, sizeof *c);
  if (!r || !c) {
    free(r);
    free(c);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  r->ab.pipe_r = r->ab.pipe_w = r->ba.pipe_r = r->ba.pipe_w = -1;
  // Our own descriptors: JS may close its own at any time (a drain, a reset) without the numbers
  // being reused under this thread.
  r->a = fcntl(fd_a, F_DUPFD_CLOEXEC, 0);
  r->b = r->a < 0 ? -1 : fcntl(fd_b, F_DUPFD_CLOEXEC, 0);
  if (r->b < 0 || open_direction(&r->ab, r->a, r->b) < 0 || open_direction(&r->ba, r->b, r->a) < 0) {
    int err = errno;
    free_relay_fds(r);
    free(r);
    free(c);
    errno = err;
    return throw_errno(env, "relay");
  }
  r->id = next_id++;
  c->type = ADD;
  c->relay = r;
  enqueue(c);
  napi_create_uint32(env, r->id, &result);
  return result;
}

// cancel(id): ends a relay now; its callback follows with ECANCELED (nothing if it ended already).
static napi_value cancel(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t id;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_uint32(env, argv[0], &id) != napi_ok) {
    napi_throw_type_error(env, NULL, "cancel(id) takes a relay id");
    return NULL;
  }
  command_t *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->type = CANCEL;
  c->id = id;
  enqueue(c);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"setup", NULL, setup, NULL, NULL, NULL, napi_default, NULL},
      {"relay", NULL, relay, NULL, NULL, NULL, napi_default, NULL},
      {"cancel", NULL, cancel, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 3, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
