import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import YAML from 'yaml';
import { ApiError } from '../../api/errors';
import { validate } from '../../api/validate';

// API tokens: a file (YAML or JSON) or FAULTLINE_TOKENS, each `{name, token | sha256, role}`.
// Roles: viewer < operator < admin, plus `alerting`, which may only post alert webhooks (give it
// to Alertmanager and Grafana contact points: a leaked webhook token can stop chaos, never start it).
// Tokens are compared by their SHA-256 digest in constant time; the file may hold digests only.

export const ROLES = ['alerting', 'viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const TokenEntry = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9_.@-]{1,64}$', description: 'shown as the actor of what this token does' }),
    token: Type.Optional(Type.String({ minLength: 16, maxLength: 4096, description: 'the secret itself (at least 16 characters)' })),
    sha256: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$', description: 'hex SHA-256 of the secret, instead of the secret' })),
    role: Type.Union(ROLES.map((r) => Type.Literal(r)), { description: 'alerting, viewer, operator or admin' }),
  },
  { additionalProperties: false },
);
export type TokenEntry = Static<typeof TokenEntry>;

export const TokenFile = Type.Union([
  Type.Array(TokenEntry, { maxItems: 10_000 }),
  Type.Object({ tokens: Type.Array(TokenEntry, { maxItems: 10_000 }) }, { additionalProperties: false }),
]);

export interface Principal {
  name: string;
  role: Role;
}

interface StoredToken extends Principal {
  digest: Buffer;
}

export function sha256(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

export class TokenSet {
  private readonly tokens: StoredToken[];

  constructor(entries: TokenEntry[]) {
    const names = new Set<string>();
    this.tokens = entries.map((e, i) => {
      if (!e.token === !e.sha256) {
        throw ApiError.invalid(`token ${e.name}: give exactly one of token and sha256`, [{ field: `/${i}`, reason: 'needs exactly one of token, sha256' }]);
      }
      if (names.has(e.name)) throw ApiError.invalid(`token name ${e.name} is used twice`, [{ field: `/${i}/name`, reason: 'is used twice' }]);
      names.add(e.name);
      return { name: e.name, role: e.role, digest: e.token ? sha256(e.token) : Buffer.from(e.sha256!, 'hex') };
    });
  }

  get size(): number {
    return this.tokens.length;
  }

  /** The principal whose secret this is, or null. Checks every entry, so timing says nothing. */
  lookup(secret: string): Principal | null {
    const d = sha256(secret);
    let found: StoredToken | null = null;
    for (const t of this.tokens) if (timingSafeEqual(t.digest, d) && !found) found = t;
    return found ? { name: found.name, role: found.role } : null;
  }

  static empty(): TokenSet {
    return new TokenSet([]);
  }
}

/** Parses token file text (YAML or JSON; a list or `{tokens: [...]}`). */
export function parseTokens(text: string, what = 'tokens file'): TokenSet {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw ApiError.invalid(`${what} is not YAML or JSON: ${(err as Error).message}`);
  }
  const parsed = validate(TokenFile, doc ?? [], what);
  return new TokenSet(Array.isArray(parsed) ? parsed : parsed.tokens);
}

/**
 * FAULTLINE_TOKENS: the same YAML/JSON as the file, or the short form
 * `name:role:secret[,name:role:secret...]`.
 */
export function parseTokensEnv(value: string): TokenSet {
  const v = value.trim();
  if (v === '') return TokenSet.empty();
  if (v.startsWith('[') || v.startsWith('{') || v.includes('\n')) return parseTokens(v, 'FAULTLINE_TOKENS');
  const entries = v.split(',').map((part, i) => {
    const [name, role, ...rest] = part.trim().split(':');
    const token = rest.join(':');
    if (!name || !role || !token) {
      throw ApiError.invalid('FAULTLINE_TOKENS: each entry is name:role:secret', [{ field: `/${i}`, reason: 'expected name:role:secret' }]);
    }
    return { name, role, token };
  });
  return parseTokens(JSON.stringify(entries), 'FAULTLINE_TOKENS');
}

/** Tokens from --tokens-file, else FAULTLINE_TOKENS, else none (anonymous loopback only). */
export function loadTokens(opts: { file?: string; env?: string | undefined }): TokenSet {
  if (opts.file) {
    let text: string;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (err) {
      throw ApiError.invalid(`cannot read tokens file ${opts.file}: ${(err as Error).message}`);
    }
    return parseTokens(text, `tokens file ${opts.file}`);
  }
  if (opts.env) return parseTokensEnv(opts.env);
  return TokenSet.empty();
}
