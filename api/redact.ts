// Redaction of secrets in process command lines, before any listing leaves the daemon (GET /v1/targets)
// or the exporter: `psql postgresql://app:hunter2@db/app` must not reach a dashboard. Plain string
// work, no Node APIs: the browser can use it too. Fixed patterns only, each linear in the input.
//
// What is redacted (the value becomes ***, the name stays so the line is still recognisable):
// - credentials in URLs: `scheme://user:PASSWORD@host` (and a long user-only token `scheme://TOKEN@host`);
// - secret-looking query parameters: `?token=…&password=…`;
// - secret-looking flags: `--password=X`, `--password X`, `-password X`, `--api-key X`, `--client-secret=X`…;
// - environment-style assignments `KEY=value` (every one: `env PGPASSWORD=x cmd`, `AWS_SECRET_ACCESS_KEY=…`);
// - secret-looking `name=value` pairs in any case (libpq `host=db password=x`, `user=a;pwd=b`);
// - HTTP credentials: `Authorization: Bearer X`, `Basic X`;
// - mysql's glued `-pPASSWORD`.

export const REDACTED = '***';

/** Names that hold secrets (as flag names, parameter names, parts of env names). */
const SECRET_NAME = /(pass(word|wd|phrase)?|pwd|secret|token|api[-_]?key|apikey|access[-_]?key|private[-_]?key|credentials?|auth|session|cookie|signature|sig)$/i;
const SECRET_NAME_ANYWHERE = /(pass(word|wd|phrase)?|pwd|secret|token|api[-_]?key|apikey|access[-_]?key|private[-_]?key|credentials?|auth|session|cookie|signature)/i;

const URL_USERINFO = /([a-zA-Z][a-zA-Z0-9+.-]{0,31}:\/\/)([^\s/@:]{1,256})(:[^\s/@]{0,512})?@/g;
const QUERY_PARAM = /([?&;])([^\s=&;#]{1,64})=([^\s&;#]*)/g;
const ENV_ASSIGNMENT = /^([A-Z_][A-Z0-9_]{0,127})=(.+)$/;
const NAME_VALUE = /(^|[\s;,])([A-Za-z_][A-Za-z0-9_.-]{0,63})=([^\s;,]+)/g;
const FLAG_WITH_VALUE = /^(-{1,2})([A-Za-z][A-Za-z0-9_.-]{0,63})=(.+)$/;
const FLAG = /^-{1,2}([A-Za-z][A-Za-z0-9_.-]{0,63})$/;
const HTTP_AUTH = /\b(Bearer|Basic|Token|Digest)(\s+)([^\s"']+)/gi;
const MYSQL = /(^|\/)(mysql|mysqldump|mysqladmin|mariadb|mariadb-dump)$/;

function redactToken(tok: string, argv0: string): string {
  let t = tok.replace(URL_USERINFO, (_m, scheme: string, user: string, pass: string | undefined) =>
    pass !== undefined ? `${scheme}${user}:${REDACTED}@` : `${scheme}${user.length >= 16 ? REDACTED : user}@`,
  );
  t = t.replace(QUERY_PARAM, (m, sep: string, name: string) => (SECRET_NAME_ANYWHERE.test(name) ? `${sep}${name}=${REDACTED}` : m));
  const env = ENV_ASSIGNMENT.exec(t);
  if (env) return `${env[1]}=${REDACTED}`;
  const flag = FLAG_WITH_VALUE.exec(t);
  if (flag && SECRET_NAME_ANYWHERE.test(flag[2])) return `${flag[1]}${flag[2]}=${REDACTED}`;
  if (MYSQL.test(argv0) && /^-p.+/.test(t)) return `-p${REDACTED}`;
  t = t.replace(NAME_VALUE, (m, pre: string, name: string) => (SECRET_NAME_ANYWHERE.test(name) ? `${pre}${name}=${REDACTED}` : m));
  return t;
}

/** The command line with every secret it seems to hold replaced by ***; whitespace is kept as it was. */
export function redactCommandLine(cmdline: string): string {
  const parts = cmdline.split(/(\s+)/); // words at even indexes, the whitespace between them at odd ones
  const argv0 = parts[0] ?? '';
  let valueNext = false;
  for (let i = 0; i < parts.length; i += 2) {
    const tok = parts[i];
    if (!tok) continue;
    if (valueNext && !tok.startsWith('-')) {
      parts[i] = REDACTED;
      valueNext = false;
      continue;
    }
    valueNext = false;
    const flag = FLAG.exec(tok);
    if (flag && SECRET_NAME.test(flag[1])) {
      valueNext = true; // `--password hunter2`: the next word is the value
      continue;
    }
    parts[i] = redactToken(tok, argv0);
  }
  return parts.join('').replace(HTTP_AUTH, (_m, scheme: string, sp: string) => `${scheme}${sp}${REDACTED}`);
}
