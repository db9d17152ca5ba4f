import { randomInt } from 'node:crypto';

// The little of the DNS wire format (RFC 1035 §4) the responder needs: read a query's header and first
// question, and write an answer to it (an error code, or A/AAAA records). Everything else in a message
// is passed through untouched by forwarding it whole, so no general parser is needed.

export const TYPE_A = 1;
export const TYPE_AAAA = 28;
export const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 } as const;

export interface Query {
  id: number;
  /** Lowercase, without the trailing dot ('' for the root). */
  name: string;
  type: number;
  qclass: number;
  /** Offset just past the first question: header + question are copied into answers as they came. */
  questionEnd: number;
}

/**
 * The query in `msg`, or undefined when it is not one we answer ourselves: a response, an opcode other
 * than QUERY, no question, or a malformed name. Those are forwarded (or dropped) as they are.
 */
export function parseQuery(msg: Buffer): Query | undefined {
  if (msg.length < 12) return undefined;
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000 || ((flags >> 11) & 0xf) !== 0 || msg.readUInt16BE(4) < 1) return undefined;
  const labels: string[] = [];
  let off = 12;
  // A question name is written without compression pointers (RFC 1035 §4.1.4 leaves no earlier name to point at).
  for (;;) {
    if (off >= msg.length) return undefined;
    const len = msg[off];
    if (len === 0) break;
    if (len > 63 || off + 1 + len > msg.length) return undefined;
    labels.push(msg.toString('latin1', off + 1, off + 1 + len).toLowerCase());
    off += 1 + len;
  }
  off += 1;
  if (off + 4 > msg.length) return undefined;
  return { id: msg.readUInt16BE(0), name: labels.join('.'), type: msg.readUInt16BE(off), qclass: msg.readUInt16BE(off + 2), questionEnd: off + 4 };
}

/** Header of an answer to `q`: same id and opcode, QR and RA set, RD copied, the given rcode and counts. */
function answerHeader(query: Buffer, rcode: number, answers: number): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(query.readUInt16BE(0), 0);
  const rd = query.readUInt16BE(2) & 0x0100;
  h.writeUInt16BE(0x8000 | rd | 0x0080 | rcode, 2);
  h.writeUInt16BE(1, 4); // the one question, copied
  h.writeUInt16BE(answers, 6);
  return h;
}

/** An answer with no records and `rcode` (NXDOMAIN, SERVFAIL; NOERROR = the name exists, no data of that type). */
export function errorAnswer(query: Buffer, q: Query, rcode: number): Buffer {
  return Buffer.concat([answerHeader(query, rcode, 0), query.subarray(12, q.questionEnd)]);
}

/** One A or AAAA record for the question's name (a pointer to it), TTL 0 so no cache keeps it past the fault. */
function record(type: number, addr: Buffer): Buffer {
  const r = Buffer.alloc(12 + addr.length);
  r.writeUInt16BE(0xc00c, 0);
  r.writeUInt16BE(type, 2);
  r.writeUInt16BE(1, 4);
  r.writeUInt32BE(0, 6);
  r.writeUInt16BE(addr.length, 10);
  addr.copy(r, 12);
  return r;
}

// RFC 5737 / RFC 3849 documentation ranges: a random answer never sends the application to a real host.
const V4_NETS = [
  [192, 0, 2],
  [198, 51, 100],
  [203, 0, 113],
];

export function randomV4(): Buffer {
  return Buffer.from([...V4_NETS[randomInt(V4_NETS.length)], randomInt(1, 255)]);
}

export function randomV6(): Buffer {
  const a = Buffer.alloc(16);
  a.writeUInt32BE(0x20010db8, 0);
  for (let i = 4; i < 16; i++) a[i] = randomInt(256);
  return a;
}

/** `action: random`: a random address for A/AAAA in class IN, an empty NOERROR answer for any other question. */
export function randomAnswer(query: Buffer, q: Query): Buffer {
  const rr = q.qclass === 1 && q.type === TYPE_A ? record(TYPE_A, randomV4()) : q.qclass === 1 && q.type === TYPE_AAAA ? record(TYPE_AAAA, randomV6()) : undefined;
  return Buffer.concat([answerHeader(query, RCODE.NOERROR, rr ? 1 : 0), query.subarray(12, q.questionEnd), ...(rr ? [rr] : [])]);
}

/** SERVFAIL for a query we could not forward (no original destination, resolver silent). */
export function servfail(query: Buffer): Buffer | undefined {
  const q = parseQuery(query);
  return q ? errorAnswer(query, q, RCODE.SERVFAIL) : undefined;
}
