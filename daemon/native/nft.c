// faultline-nft.node: runs an nftables script through libnftables inside the daemon's process.
//
// Why: the `nft` binary costs ~14 ms of CPU per command here (exec, loading its libraries, and
// nsenter's own exec for another netns) where the same command in-process costs ~1 ms. A stop that
// deletes fifty tables on a busy node is fifty of those. The script language, the atomic load and
// the error texts are libnftables' own, exactly as `nft -f -` gives them.
//
// Each call runs on a thread of its own: a netns given by path is entered with setns(CLONE_NEWNET),
// which switches only the calling thread, and the thread ends with the call, so no other code of
// the daemon ever runs in the target's namespace. libnftables is not documented as thread-safe, so
// calls are also serialised by one mutex (the JavaScript side queues them anyway).
//
//   run(script: string, netnsPath: string | null) => Promise<string>   (the command's output)
//   rejects with Error { message: libnftables' error text, code: 'ENFT' | errno name of the setns }
// An error's location names the script /proc/self/fd/N (daemon/sys/nft.ts says /dev/stdin instead).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <nftables/libnftables.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addon-common.h"

typedef struct {
  char *script;
  char *netns; // NULL: the daemon's own namespace
  int ok;
  const char *code; // on failure: "ENFT", or the errno name of opening/entering the netns
  char *text;       // output on success, error text on failure (malloc'd)
  napi_deferred deferred;
  napi_async_work work;
} call_t;

static pthread_mutex_t nft_lock = PTHREAD_MUTEX_INITIALIZER;

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

static const char *errno_name(int e) {
  switch (e) {
  case ENOENT: return "ENOENT";
  case EACCES: return "EACCES";
  case EPERM: return "EPERM";
  case EINVAL: return "EINVAL";
  default: return "ENETNS";
  }
}

static void fail_errno(call_t *c, const char *what) {
  int e = errno;
  const char *msg = strerror(e);
  size_t n = strlen(what) + strlen(c->netns) + strlen(msg) + 8;
  c->ok = 0;
  c->code = errno_name(e);
  c->text = malloc(n);
  if (c->text) snprintf(c->text, n, "%s %s: %s", what, c->netns, msg);
}

static void *run_on_thread(void *arg) {
  call_t *c = arg;
  const char *step = NULL;
  int e = c->netns ? enter_netns(c->netns, &step) : 0;
  if (e) {
    errno = e;
    fail_errno(c, strcmp(step, "open") == 0 ? "cannot open" : "cannot enter");
    return NULL;
  }
  // the netlink socket libnftables opens here belongs to this thread's namespace
  struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!ctx) { c->ok = 0; c->code = "ENFT"; c->text = strdup("libnftables: out of memory"); return NULL; }
  nft_ctx_buffer_output(ctx);
  nft_ctx_buffer_error(ctx);
  // From a file, not nft_run_cmd_from_buffer: libnftables 1.0 quotes the first line of a buffer
  // beside an error on any line; from a file it quotes the line at fault, as `nft -f -` does.
  int mfd = memfd_create("faultline-nft", MFD_CLOEXEC);
  size_t len = strlen(c->script), done = 0;
  while (mfd >= 0 && done < len) {
    ssize_t w = write(mfd, c->script + done, len - done);
    if (w <= 0) { close(mfd); mfd = -1; break; }
    done += (size_t)w;
  }
  if (mfd < 0) {
    c->ok = nft_run_cmd_from_buffer(ctx, c->script) == 0;
  } else {
    char name[64];
    snprintf(name, sizeof name, "/proc/self/fd/%d", mfd);
    c->ok = nft_run_cmd_from_filename(ctx, name) == 0;
    close(mfd);
  }
  c->code = c->ok ? NULL : "ENFT";
  c->text = dup_or_empty(c->ok ? nft_ctx_get_output_buffer(ctx) : nft_ctx_get_error_buffer(ctx));
  nft_ctx_free(ctx);
  return NULL;
}

static void execute(napi_env env, void *data) {
  (void)env;
  call_t *c = data;
  pthread_mutex_lock(&nft_lock);
  if (run_on_own_thread(run_on_thread, c) != 0) {
    c->ok = 0;
    c->code = "ENFT";
    c->text = strdup("cannot start a thread for libnftables");
  }
  pthread_mutex_unlock(&nft_lock);
}

static void complete(napi_env env, napi_status status, void *data) {
  call_t *c = data;
  napi_value text;
  napi_create_string_utf8(env, c->text ? c->text : "", NAPI_AUTO_LENGTH, &text);
  if (status == napi_ok && c->ok) {
    napi_resolve_deferred(env, c->deferred, text);
  } else {
    napi_value err, code;
    napi_create_string_utf8(env, c->code ? c->code : "ENFT", NAPI_AUTO_LENGTH, &code);
    napi_create_error(env, code, text, &err);
    napi_reject_deferred(env, c->deferred, err);
  }
  napi_delete_async_work(env, c->work);
  free(c->script);
  free(c->netns);
  free(c->text);
  free(c);
}

static napi_value run(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], promise, name;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_valuetype t1 = napi_undefined;
  if (argc > 1) napi_typeof(env, argv[1], &t1);
  call_t *c = calloc(1, sizeof *c);
  if (!c) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
  c->script = argc > 0 ? string_arg(env, argv[0]) : NULL;
  c->netns = t1 == napi_string ? string_arg(env, argv[1]) : NULL;
  if (!c->script || (t1 == napi_string && !c->netns) || (t1 != napi_string && t1 != napi_undefined && t1 != napi_null)) {
    free(c->script);
    free(c->netns);
    free(c);
    napi_throw_type_error(env, NULL, "run(script: string, netnsPath?: string | null)");
    return NULL;
  }
  napi_create_promise(env, &c->deferred, &promise);
  napi_create_string_utf8(env, "faultline-nft", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, execute, complete, c, &c->work);
  napi_queue_async_work(env, c->work);
  return promise;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "run", NAPI_AUTO_LENGTH, run, NULL, &fn);
  napi_set_named_property(env, exports, "run", fn);
  return exports;
}
