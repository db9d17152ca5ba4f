// HTTP/1.1 framing for the relay thread: see http-frame.h. Each function mirrors the one named beside
// it in daemon/proxy/http-parse.ts or http-match.ts, and tests/integration/proxy-http-relay.test.ts
// sends the same bytes through both and compares what comes back.
#define _GNU_SOURCE
#include "http-frame.h"

#include <string.h>

enum { B_DONE, B_DATA, B_DATA_CRLF, B_SIZE, B_TRAILER, B_CLOSE };
// where a chunk-size line is: blanks, digits (S_PDIGITS: after a 0x), past them, just after 0x, refused
enum { S_LEAD, S_DIGITS, S_PDIGITS, S_AFTER, S_PREFIX, S_BAD };

#define MAX_CHUNK_LINE 8192

/** What String.prototype.trim removes, among the bytes a latin1 string has. */
static int is_ws(uint8_t c) { return c == 0x20 || (c >= 9 && c <= 13) || c == 0xA0; }

static int hex_value(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static void start_line(hf_body *b, int state) {
  b->state = state;
  b->line_len = 0;
  b->line_seen = S_LEAD;
  b->size = 0;
  b->digits = 0;
}

void hf_body_init(hf_body *b, hf_framing framing, uint64_t length) {
  memset(b, 0, sizeof *b);
  if (framing == HF_LENGTH && length > 0) {
    b->state = B_DATA;
    b->remaining = length;
  } else if (framing == HF_CHUNKED) start_line(b, B_SIZE);
  else if (framing == HF_CLOSE) b->state = B_CLOSE;
  else b->state = B_DONE;
}

int hf_body_done(const hf_body *b) { return b->state == B_DONE; }
int hf_body_until_close(const hf_body *b) { return b->state == B_CLOSE; }

/**
 * One byte of a chunk-size line, as `parseInt(text.split(';')[0], 16)` and /^[0-9a-fA-F]+/ read the
 * trimmed line: leading blanks, an optional 0x, hex digits, and whatever follows them ignored.
 */
static void size_byte(hf_body *b, uint8_t c) {
  int v = hex_value(c);
  switch (b->line_seen) {
    case S_LEAD:
      if (is_ws(c)) return;
      if (v < 0) b->line_seen = S_BAD;
      else {
        b->line_seen = S_DIGITS;
        b->size = (uint64_t)v;
        b->digits = 1;
      }
      return;
    case S_DIGITS:
    case S_PDIGITS:
      if (v >= 0) {
        if (b->size > ((UINT64_C(1) << 60) - (uint64_t)v) / 16) b->line_seen = S_BAD; // above 2^60, as http-parse.ts refuses
        else b->size = b->size * 16 + (uint64_t)v;
        b->digits++;
      } else if ((c == 'x' || c == 'X') && b->line_seen == S_DIGITS && b->digits == 1 && b->size == 0) {
        b->line_seen = S_PREFIX; // parseInt skips a 0x prefix in base 16
        b->digits = 0;
      } else b->line_seen = S_AFTER;
      return;
    case S_PREFIX:
      if (v < 0) b->line_seen = S_BAD;
      else {
        b->line_seen = S_PDIGITS; // a second 0x ends the number, as in parseInt
        b->size = (uint64_t)v;
        b->digits = 1;
      }
      return;
    default:
      return;
  }
}

long hf_body_take(hf_body *b, const uint8_t *buf, size_t n, const char **err) {
  size_t i = 0;
  while (i < n && b->state != B_DONE) {
    switch (b->state) {
      case B_CLOSE:
        return (long)n;
      case B_DATA: {
        uint64_t k = b->remaining < n - i ? b->remaining : n - i;
        i += k;
        b->remaining -= k;
        if (b->remaining == 0) {
          b->state = b->in_chunk ? B_DATA_CRLF : B_DONE;
          b->remaining = 2;
        }
        break;
      }
      case B_DATA_CRLF: {
        // the CRLF after chunk data, skipped as two bytes (possibly split across reads)
        uint64_t k = b->remaining < n - i ? b->remaining : n - i;
        i += k;
        b->remaining -= k;
        if (b->remaining == 0) start_line(b, B_SIZE);
        break;
      }
      case B_SIZE:
      case B_TRAILER: {
        uint8_t c = buf[i++];
        if (++b->line_len > MAX_CHUNK_LINE) {
          *err = "chunk size or trailer line too long";
          return -1;
        }
        if (c != '\n') {
          if (b->state == B_SIZE) size_byte(b, c);
          else if (!is_ws(c)) b->line_seen = 1;
          break;
        }
        if (b->state == B_TRAILER) {
          if (!b->line_seen) b->state = B_DONE;
          else start_line(b, B_TRAILER);
        } else if (b->line_seen == S_BAD || b->line_seen == S_LEAD || b->line_seen == S_PREFIX) {
          *err = "bad chunk size";
          return -1;
        } else if (b->size == 0) {
          start_line(b, B_TRAILER);
        } else {
          uint64_t size = b->size;
          b->state = B_DATA;
          b->remaining = size;
          b->in_chunk = 1;
        }
        break;
      }
    }
  }
  return (long)i;
}

long hf_head_end(const uint8_t *buf, size_t n) {
  const uint8_t *p = memmem(buf, n, "\r\n\r\n", 4);
  return p ? (long)(p - buf) + 4 : -1;
}

static int is_tchar(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c != 0 && strchr("!#$%&'*+.^_`|~-", c) != NULL);
}

/** Whether buf[from, to) is `name` (lower case) compared as toLowerCase would. */
static int header_is(const uint8_t *buf, size_t from, size_t to, const char *name) {
  size_t len = strlen(name);
  if (to - from != len) return 0;
  for (size_t k = 0; k < len; k++) {
    uint8_t c = buf[from + k];
    if ((c >= 'A' && c <= 'Z' ? c | 32 : c) != (uint8_t)name[k]) return 0;
  }
  return 1;
}

static void trim(const uint8_t *buf, size_t *from, size_t *to) {
  while (*from < *to && is_ws(buf[*from])) (*from)++;
  while (*to > *from && is_ws(buf[*to - 1])) (*to)--;
}

/** The headers framing reads, collected over a head's lines (scanHead's joined values, read as requestFraming reads them). */
typedef struct {
  int te;                 // a Transfer-Encoding line was seen
  size_t te_last_from, te_last_to; // its last non-empty comma-separated token so far
  int cl;                 // a Content-Length line was seen
  size_t cl_from, cl_to;  // the first one's value up to its first comma, trimmed
  int upgrade;
} framing_headers;

static void collect(const uint8_t *buf, size_t name_from, size_t name_to, size_t value_from, size_t value_to, framing_headers *h) {
  trim(buf, &value_from, &value_to);
  if (header_is(buf, name_from, name_to, "transfer-encoding")) {
    h->te = 1;
    size_t s = value_from;
    for (size_t k = value_from; k <= value_to; k++) {
      if (k < value_to && buf[k] != ',') continue;
      size_t f = s, t = k;
      trim(buf, &f, &t);
      if (t > f) {
        h->te_last_from = f;
        h->te_last_to = t;
      }
      s = k + 1;
    }
  } else if (header_is(buf, name_from, name_to, "content-length")) {
    if (h->cl) return; // the first value's first part decides (lengthOf)
    h->cl = 1;
    size_t t = value_from;
    while (t < value_to && buf[t] != ',') t++;
    h->cl_from = value_from;
    h->cl_to = t;
    trim(buf, &h->cl_from, &h->cl_to);
  } else if (header_is(buf, name_from, name_to, "upgrade")) {
    h->upgrade = 1;
  }
}

/** Where the line starting at `i` ends: at its CRLF, or at `stop` (the head's final CRLF CRLF). */
static size_t line_end(const uint8_t *buf, size_t i, size_t stop) {
  while (i < stop && !(buf[i] == 13 && buf[i + 1] == 10)) i++;
  return i;
}

#define NO_COLON ((size_t)-1)

/**
 * The header line after the CRLF at `*i`: it starts at `*line`, ends at the new `*i`, and `*colon` is
 * its first colon (NO_COLON without one). 0 once past the last line.
 */
static int next_header(const uint8_t *buf, size_t *i, size_t stop, size_t *line, size_t *colon) {
  if (*i >= stop) return 0;
  *line = *i + 2;
  *i = line_end(buf, *line, stop);
  const uint8_t *c = memchr(buf + *line, ':', *i - *line);
  *colon = c ? (size_t)(c - buf) : NO_COLON;
  return 1;
}

/** The header lines of a head whose first line ends at `i` (scanHead): -1 for a line without a name. */
static int scan_headers(const uint8_t *buf, size_t i, size_t stop, framing_headers *h) {
  memset(h, 0, sizeof *h);
  size_t line, colon;
  while (next_header(buf, &i, stop, &line, &colon)) {
    if (colon == NO_COLON || colon <= line) return -1;
    collect(buf, line, colon, colon + 1, i, h);
  }
  return 0;
}

/** lengthOf: 1-15 digits. -1 when they are not. */
static int length_of(const uint8_t *buf, const framing_headers *h, uint64_t *n) {
  size_t len = h->cl_to - h->cl_from;
  if (len < 1 || len > 15) return -1;
  uint64_t v = 0;
  for (size_t k = h->cl_from; k < h->cl_to; k++) {
    if (buf[k] < '0' || buf[k] > '9') return -1;
    v = v * 10 + (uint64_t)(buf[k] - '0');
  }
  *n = v;
  return 0;
}

static int chunked_last(const uint8_t *buf, const framing_headers *h) {
  return h->te_last_to > h->te_last_from && header_is(buf, h->te_last_from, h->te_last_to, "chunked");
}

int hf_parse_request(const uint8_t *buf, size_t len, hf_request *out) {
  if (len < 4) return -1;
  size_t stop = len - 4;
  size_t eol = line_end(buf, 0, stop);
  // REQUEST_LINE: token SP non-blank+ SP HTTP/1.[01], nothing else
  size_t i = 0;
  while (i < eol && is_tchar(buf[i])) i++;
  if (i == 0 || i >= eol || buf[i] != ' ') return -1;
  out->method = buf;
  out->method_len = i;
  size_t url = ++i;
  while (i < eol && !is_ws(buf[i])) i++;
  if (i == url || i >= eol || buf[i] != ' ') return -1;
  size_t url_end = i++;
  if (eol - i != 8 || memcmp(buf + i, "HTTP/1.", 7) != 0 || (buf[i + 7] != '0' && buf[i + 7] != '1')) return -1;
  out->path = buf + url;
  const uint8_t *q = memchr(buf + url, '?', url_end - url);
  out->path_len = q ? (size_t)(q - (buf + url)) : url_end - url;
  framing_headers h;
  if (scan_headers(buf, eol, stop, &h) < 0) return -1;
  out->lines = buf + eol;
  out->lines_len = len - eol;
  out->upgrade = h.upgrade || (out->method_len == 7 && memcmp(out->method, "CONNECT", 7) == 0);
  out->length = 0;
  if (h.te) {
    if (!chunked_last(buf, &h)) return -1;
    out->framing = HF_CHUNKED;
  } else if (h.cl) {
    if (length_of(buf, &h, &out->length) < 0) return -1;
    out->framing = out->length > 0 ? HF_LENGTH : HF_NONE;
  } else out->framing = HF_NONE;
  return 0;
}

int hf_parse_response(const uint8_t *buf, size_t len, int head_request, hf_response *out) {
  if (len < 4) return -1;
  size_t stop = len - 4;
  size_t eol = line_end(buf, 0, stop);
  // STATUS_LINE: HTTP/1.[01] SP 3 digits, then nothing or SP and a reason without CR or LF
  if (eol < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || (buf[7] != '0' && buf[7] != '1') || buf[8] != ' ') return -1;
  int status = 0;
  for (int k = 9; k < 12; k++) {
    if (buf[k] < '0' || buf[k] > '9') return -1;
    status = status * 10 + (buf[k] - '0');
  }
  if (eol > 12) {
    if (buf[12] != ' ') return -1;
    for (size_t k = 13; k < eol; k++)
      if (buf[k] == '\r' || buf[k] == '\n') return -1;
  }
  framing_headers h;
  if (scan_headers(buf, eol, stop, &h) < 0) return -1;
  out->status = status;
  out->length = 0;
  // responseFraming, read only for a final answer (the caller passes 1xx on before asking)
  if (head_request || status < 200 || status == 204 || status == 304) out->framing = HF_NONE;
  else if (h.te) out->framing = chunked_last(buf, &h) ? HF_CHUNKED : HF_CLOSE;
  else if (h.cl) {
    if (length_of(buf, &h, &out->length) < 0) return -1;
    out->framing = out->length > 0 ? HF_LENGTH : HF_NONE;
  } else out->framing = HF_CLOSE;
  return 0;
}

/** Work a glob match may take (path bytes × glob tokens) before JavaScript's RE2 decides instead. */
#define GLOB_BUDGET (1u << 22)
#define GLOB_WORDS ((1024 + 1 + 63) / 64)

static void glob_close(const hf_rule *r, uint64_t *set) {
  for (size_t k = 0; k < r->glob_len; k++)
    if ((set[k / 64] >> (k % 64)) & 1 && (r->glob[k] == HF_GLOB_STAR || r->glob[k] == HF_GLOB_DSTAR)) set[(k + 1) / 64] |= 1ull << ((k + 1) % 64);
}

/**
 * globToRegExp's pattern run over the path as a set of positions in the glob (an NFA, linear in the
 * path as RE2 is): 1 matches, 0 does not, -1 too long to try here.
 */
static int glob_matches(const hf_rule *r, const uint8_t *path, size_t len) {
  size_t m = r->glob_len;
  if (m > 1024 || (uint64_t)len * (m + 1) > GLOB_BUDGET) return -1;
  size_t words = (m + 1 + 63) / 64;
  uint64_t set[GLOB_WORDS] = {0}, next[GLOB_WORDS];
  set[0] = 1;
  glob_close(r, set);
  for (size_t i = 0; i < len; i++) {
    uint8_t c = path[i];
    memset(next, 0, words * sizeof next[0]);
    int any = 0;
    for (size_t w = 0; w < words; w++) {
      uint64_t bits = set[w];
      while (bits) {
        size_t k = w * 64 + (size_t)__builtin_ctzll(bits);
        bits &= bits - 1;
        if (k >= m) continue;
        uint16_t t = r->glob[k];
        size_t to = (size_t)-1;
        if (t == HF_GLOB_DSTAR || (t == HF_GLOB_STAR && c != '/')) to = k;
        else if ((t == HF_GLOB_ONE && c != '/') || t == c) to = k + 1;
        if (to != (size_t)-1) {
          next[to / 64] |= 1ull << (to % 64);
          any = 1;
        }
      }
    }
    if (!any) return 0;
    glob_close(r, next);
    memcpy(set, next, words * sizeof set[0]);
  }
  return (int)((set[m / 64] >> (m % 64)) & 1);
}

/** Whether the head's header lines (already checked by scan_headers) have one named `name` (lower case). */
static int has_header(const hf_request *req, const char *name) {
  size_t i = 0, line, colon;
  while (next_header(req->lines, &i, req->lines_len - 4, &line, &colon))
    if (colon != NO_COLON && header_is(req->lines, line, colon, name)) return 1;
  return 0;
}

int hf_rule_passes(const hf_rule *rule, const hf_request *req) {
  if (rule->n_methods > 0) {
    int known = 0;
    for (size_t k = 0; k < rule->n_methods && !known; k++)
      known = strlen(rule->methods[k]) == req->method_len && memcmp(rule->methods[k], req->method, req->method_len) == 0;
    if (!known) return 1;
  }
  if (rule->glob && glob_matches(rule, req->path, req->path_len) == 0) return 1;
  for (size_t k = 0; k < rule->n_headers; k++)
    if (!has_header(req, rule->headers[k])) return 1; // compileMatcher: no such header, no match
  return 0;
}
