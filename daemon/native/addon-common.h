// Pieces shared by the daemon's N-API addons that work in a target's network namespace (nft.c, tc.c).
#ifndef FAULTLINE_ADDON_COMMON_H
#define FAULTLINE_ADDON_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/** A JavaScript string argument as a malloc'd C string; NULL when it is not one or holds a NUL (which would cut it short). */
static char *string_arg(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (!s) return NULL;
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  if (strlen(s) != len) {
    free(s);
    return NULL;
  }
  return s;
}

/**
 * Moves the calling thread (only it) into the network namespace at `path`. 0, or the errno, with `*step`
 * saying which call failed ("open" or "setns"). Called on a thread that ends with the call, so no other
 * code of the daemon ever runs in the target's namespace.
 */
static int enter_netns(const char *path, const char **step) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *step = "open";
    return errno;
  }
  int r = setns(fd, CLONE_NEWNET);
  int e = errno;
  close(fd);
  if (r != 0) {
    *step = "setns";
    return e;
  }
  return 0;
}

/** Runs fn(arg) on a new thread and waits for it: 0, or pthread_create's error. */
static int run_on_own_thread(void *(*fn)(void *), void *arg) {
  pthread_t t;
  int e = pthread_create(&t, NULL, fn, arg);
  if (e == 0) pthread_join(t, NULL);
  return e;
}

#endif
