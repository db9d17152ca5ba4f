// faultline-tc.node: removes a fault's root qdisc through rtnetlink inside the daemon's process.
//
// Why: reverting a tc kind ran `nsenter --net=… tc qdisc del …`: two execs and tc's start, ~15–20 ms of
// CPU for one netlink message. This is the stop path of every tc kind (network-bandwidth, and the netem
// kinds where the kernel has sch_netem), so it sends that same message itself: RTM_DELQDISC for the
// device's root with the fault's handle, which the kernel refuses ("Invalid handle", EINVAL) when the
// root qdisc is not that handle, so the one request is both the check and the delete, as with tc.
// Adding qdiscs (htb trees, u32 filters) stays with the tc binary: inject is not the stop path.
//
// Each call runs on a thread of its own: a netns given by path is entered with setns(CLONE_NEWNET),
// which switches only the calling thread, and the thread ends with the call, so no other code of the
// daemon ever runs in the target's namespace (as daemon/native/nft.c does).
//
//   deleteRoot(dev: string, handle: number, netnsPath: string | null) => Promise<void>
//   rejects with Error { code: errno name (ENODEV, ENOENT, EINVAL, ...), message: the kernel's extended
//   ack text when it gave one (e.g. "Invalid handle"), else strerror }
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <node_api.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "addon-common.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

typedef struct {
  char *dev;
  uint32_t handle;
  char *netns; // NULL: the daemon's own namespace
  int err;     // 0, or the errno of the failure
  char text[256];
  napi_deferred deferred;
  napi_async_work work;
} call_t;

static const char *errno_name(int e) {
  switch (e) {
  case ENODEV: return "ENODEV";
  case ENOENT: return "ENOENT";
  case EINVAL: return "EINVAL";
  case EPERM: return "EPERM";
  case EACCES: return "EACCES";
  case EBUSY: return "EBUSY";
  case EAGAIN: return "ETIMEDOUT"; // SO_RCVTIMEO ran out
  default: return "ENETLINK";
  }
}

static void fail(call_t *c, int e, const char *what) {
  c->err = e ? e : EIO;
  snprintf(c->text, sizeof c->text, "%s: %s", what, strerror(c->err));
}

/** The extended ack's message after an error's echoed header, when the kernel sent one. */
static void ack_text(call_t *c, struct nlmsghdr *h, struct nlmsgerr *e, size_t len) {
  if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) return;
  size_t off = NLMSG_HDRLEN + sizeof *e;
  if (!(h->nlmsg_flags & NLM_F_CAPPED)) off += e->msg.nlmsg_len - NLMSG_HDRLEN;
  while (off + NLA_HDRLEN <= len) {
    struct nlattr *a = (struct nlattr *)((char *)h + off);
    if (a->nla_len < NLA_HDRLEN || off + a->nla_len > len) return;
    if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG && a->nla_len > NLA_HDRLEN) {
      snprintf(c->text, sizeof c->text, "%.*s", (int)(a->nla_len - NLA_HDRLEN), (char *)a + NLA_HDRLEN);
      size_t n = strlen(c->text);
      while (n && (c->text[n - 1] == '\n' || c->text[n - 1] == '\0')) c->text[--n] = '\0';
      return;
    }
    off += NLA_ALIGN(a->nla_len);
  }
}

static void delete_root(call_t *c) {
  unsigned ifindex = if_nametoindex(c->dev);
  if (!ifindex) return fail(c, errno == ENXIO ? ENODEV : errno, "Cannot find device");
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return fail(c, errno, "cannot open a netlink socket");
  int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one); // the kernel's reason in text
  // the kernel always acknowledges (NLM_F_ACK); should it not, the stop path answers with an error, not never
  struct timeval wait = {.tv_sec = 5};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  struct {
    struct nlmsghdr n;
    struct tcmsg t;
  } req;
  memset(&req, 0, sizeof req);
  req.n.nlmsg_len = NLMSG_LENGTH(sizeof req.t);
  req.n.nlmsg_type = RTM_DELQDISC;
  req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  req.n.nlmsg_seq = 1;
  req.t.tcm_family = AF_UNSPEC;
  req.t.tcm_ifindex = (int)ifindex;
  req.t.tcm_parent = TC_H_ROOT;
  req.t.tcm_handle = c->handle;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(fd, &req, req.n.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
    fail(c, errno, "cannot send to rtnetlink");
    close(fd);
    return;
  }
  char buf[8192];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      fail(c, errno, "cannot read rtnetlink's answer");
      break;
    }
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    int done = 0;
    for (size_t left = (size_t)n; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != req.n.nlmsg_seq || h->nlmsg_type != NLMSG_ERROR) continue;
      struct nlmsgerr *e = NLMSG_DATA(h);
      if (e->error) {
        fail(c, -e->error, "RTNETLINK answers");
        ack_text(c, h, e, h->nlmsg_len);
      }
      done = 1;
      break;
    }
    if (done) break;
  }
  close(fd);
}

static void *run_on_thread(void *arg) {
  call_t *c = arg;
  const char *step = NULL;
  int e = c->netns ? enter_netns(c->netns, &step) : 0;
  if (e) {
    fail(c, e, strcmp(step, "open") == 0 ? "cannot open the network namespace" : "cannot enter the network namespace");
    return NULL;
  }
  delete_root(c);
  return NULL;
}

static void execute(napi_env env, void *data) {
  (void)env;
  call_t *c = data;
  int e = run_on_own_thread(run_on_thread, c);
  if (e) fail(c, e, "cannot start a thread");
}

static void complete(napi_env env, napi_status status, void *data) {
  call_t *c = data;
  if (status == napi_ok && !c->err) {
    napi_value undef;
    napi_get_undefined(env, &undef);
    napi_resolve_deferred(env, c->deferred, undef);
  } else {
    napi_value err, code, text;
    napi_create_string_utf8(env, c->err ? errno_name(c->err) : "ENETLINK", NAPI_AUTO_LENGTH, &code);
    napi_create_string_utf8(env, c->err ? c->text : "the call was cancelled", NAPI_AUTO_LENGTH, &text);
    napi_create_error(env, code, text, &err);
    napi_reject_deferred(env, c->deferred, err);
  }
  napi_delete_async_work(env, c->work);
  free(c->dev);
  free(c->netns);
  free(c);
}

static napi_value delete_root_js(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], promise, name;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_valuetype t0 = napi_undefined, t1 = napi_undefined, t2 = napi_undefined;
  if (argc > 0) napi_typeof(env, argv[0], &t0);
  if (argc > 1) napi_typeof(env, argv[1], &t1);
  if (argc > 2) napi_typeof(env, argv[2], &t2);
  call_t *c = calloc(1, sizeof *c);
  if (!c) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  double handle = -1;
  if (t1 == napi_number) napi_get_value_double(env, argv[1], &handle);
  c->dev = t0 == napi_string ? string_arg(env, argv[0]) : NULL;
  c->netns = t2 == napi_string ? string_arg(env, argv[2]) : NULL;
  int bad = !c->dev || strlen(c->dev) == 0 || strlen(c->dev) >= IF_NAMESIZE || handle < 1 || handle > 0xffffffffu || handle != (double)(uint32_t)handle ||
            (t2 == napi_string && !c->netns) || (t2 != napi_string && t2 != napi_undefined && t2 != napi_null);
  if (bad) {
    free(c->dev);
    free(c->netns);
    free(c);
    napi_throw_type_error(env, NULL, "deleteRoot(dev: string (an interface name), handle: number (1..2^32-1), netnsPath?: string | null)");
    return NULL;
  }
  c->handle = (uint32_t)handle;
  napi_create_promise(env, &c->deferred, &promise);
  napi_create_string_utf8(env, "faultline-tc", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, execute, complete, c, &c->work);
  napi_queue_async_work(env, c->work);
  return promise;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "deleteRoot", NAPI_AUTO_LENGTH, delete_root_js, NULL, &fn);
  napi_set_named_property(env, exports, "deleteRoot", fn);
  return exports;
}
