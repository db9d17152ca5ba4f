import { redactCommandLine } from '../../api/redact';

// Secrets in command lines never leave a target listing (GET /v1/targets, GET /api/v1/targets).

describe('redactCommandLine', () => {
  it.each([
    ['psql postgresql://app:hunter2@db.internal:5432/shop', 'psql postgresql://app:***@db.internal:5432/shop'],
    ['git clone https://x-access-token:ghs_abc123@github.com/o/r', 'git clone https://x-access-token:***@github.com/o/r'],
    ['git clone https://ghp_0123456789abcdefghij@github.com/o/r', 'git clone https://***@github.com/o/r'],
    ['curl https://api.example.com/v1?user=bob&token=s3cr3t&x=1', 'curl https://api.example.com/v1?user=bob&token=***&x=1'],
    ['app --password=hunter2 --port 80', 'app --password=*** --port 80'],
    ['app --password hunter2 --port 80', 'app --password *** --port 80'],
    ['app -password hunter2', 'app -password ***'],
    ['app --db-password=x --api-key abc --client-secret=y --auth-token t', 'app --db-password=*** --api-key *** --client-secret=*** --auth-token ***'],
    ['env PGPASSWORD=hunter2 AWS_SECRET_ACCESS_KEY=abc HOME=/root psql', 'env PGPASSWORD=*** AWS_SECRET_ACCESS_KEY=*** HOME=*** psql'],
    ['pg_dump "host=db user=app password=hunter2 dbname=shop"', 'pg_dump "host=db user=app password=*** dbname=shop"'],
    ['sqlcmd -S db;User=sa;Pwd=hunter2', 'sqlcmd -S db;User=sa;Pwd=***'],
    ['curl -H Authorization: Bearer eyJhbGciOi.x.y https://a', 'curl -H Authorization: Bearer *** https://a'],
    ['mysql -uroot -phunter2 shop', 'mysql -uroot -p*** shop'],
    ['/usr/bin/mysqldump -pX', '/usr/bin/mysqldump -p***'],
  ])('%s', (input, expected) => expect(redactCommandLine(input)).toBe(expected));

  it.each([
    'sleep 600',
    'node /srv/app/server.js --port 8080 --verbose',
    'postgres: app shop 10.0.0.2(5432) idle',
    'nginx: worker process',
    'psql postgresql://app@db/shop',
    'ssh -p 2222 user@host',
    'python -m http.server --directory /srv',
    '',
  ])('leaves %j alone', (input) => expect(redactCommandLine(input)).toBe(input));

  it('a flag that wants a value followed by another flag redacts nothing extra', () => {
    expect(redactCommandLine('app --password --verbose')).toBe('app --password --verbose');
  });

  it('takes hostile input (fixed, bounded patterns: no backtracking blow-up; the jest timeout would catch one)', () => {
    expect(redactCommandLine('a://' + 'b'.repeat(100_000) + ':' + '@'.repeat(50_000))).toContain('@');
    expect(redactCommandLine('x=' + '='.repeat(100_000) + ' ' + '-'.repeat(100_000))).toContain('-');
  });
});
