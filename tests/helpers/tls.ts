import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * Writes a self-signed certificate for 127.0.0.1 (CN `cn`) with its key into `dir` as cert.pem and key.pem
 * (openssl, installed by .ci/run), and returns their paths.
 */
export function selfSignedCert(dir: string, cn = '127.0.0.1'): { cert: string; key: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=IP:127.0.0.1'], {
    stdio: 'ignore',
    timeout: 60_000,
  });
  return { cert, key };
}
