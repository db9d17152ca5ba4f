// HTTP/1.1 framing for the relay thread (relay.c): where a message's head ends, what its first line
// and framing headers say, where its body ends, and whether an http-fault rule can be decided here.
//
// The JavaScript proxy (daemon/proxy/http-parse.ts, http-match.ts) is the reference: what these accept
// they read exactly as it does. Whatever they do not handle (a head it would refuse, an upgrade, a rule
// with regular expressions that could match) they do not guess at: the relay hands the connection to
// JavaScript at that request's first byte, and JavaScript answers it as it always has.
#ifndef FAULTLINE_HTTP_FRAME_H
#define FAULTLINE_HTTP_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define HF_MAX_HEAD (64 * 1024)

typedef enum { HF_NONE, HF_LENGTH, HF_CHUNKED, HF_CLOSE } hf_framing;

/** One body followed through its framing (BodyReader in http-parse.ts). */
typedef struct {
  int state;
  uint64_t remaining;
  int in_chunk;
  size_t line_len; // bytes of the chunk-size or trailer line so far
  int line_seen;   // size line: 0 before its hex digits, 1 in them, 2 after; trailer: a non-blank byte seen
  uint64_t size;
  int digits;
} hf_body;

void hf_body_init(hf_body *b, hf_framing framing, uint64_t length);
/** How many bytes of buf[0, n) belong to the body; -1 on a framing error (*err says which). */
long hf_body_take(hf_body *b, const uint8_t *buf, size_t n, const char **err);
int hf_body_done(const hf_body *b);
int hf_body_until_close(const hf_body *b);

/** Offset just past the blank line ending a head that starts at buf[0], or -1 when it has not arrived. */
long hf_head_end(const uint8_t *buf, size_t n);

typedef struct {
  const uint8_t *method;
  size_t method_len;
  const uint8_t *path; // the request target up to its '?'
  size_t path_len;
  hf_framing framing;
  uint64_t length;
  int upgrade; // CONNECT, or an Upgrade header: JavaScript follows those
  const uint8_t *lines; // the header lines: from the first line's CRLF to the head's final CRLF CRLF
  size_t lines_len;
} hf_request;

/** Reads a request head buf[0, len) (len from hf_head_end). 0, or -1 where JavaScript must decide. */
int hf_parse_request(const uint8_t *buf, size_t len, hf_request *out);

typedef struct {
  int status;
  hf_framing framing;
  uint64_t length;
} hf_response;

/** Reads a response head; `head_request`: it answers a HEAD. 0, or -1 for a response the proxy refuses. */
int hf_parse_response(const uint8_t *buf, size_t len, int head_request, hf_response *out);

/**
 * What of an http-fault's match the relay can decide: its methods, its path glob, and which headers it
 * needs (a header regex never matches a request without that header). A match needs every condition,
 * so one of these failing is enough to say the rule does not match; a request that passes them (the
 * rule's regexes not looked at) goes to JavaScript.
 */
typedef struct {
  char **methods; // upper case, as the rule's set holds them
  size_t n_methods; // 0: any method
  uint16_t *glob;   // the path glob as tokens: a byte, or one of HF_GLOB_*; NULL: any path
  size_t glob_len;
  char **headers;   // lower-case names of headers the rule's regexes read
  size_t n_headers;
} hf_rule;

#define HF_GLOB_STAR 0x100  // [^/]*
#define HF_GLOB_DSTAR 0x101 // .*
#define HF_GLOB_ONE 0x102   // [^/]

/** 1: the rule does not match this request (it is only relayed); 0: JavaScript decides. */
int hf_rule_passes(const hf_rule *rule, const hf_request *req);

#endif
