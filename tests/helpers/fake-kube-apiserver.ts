import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { selfSignedCert } from './tls';

// AN API-SHAPED STAND-IN, NOT A KUBERNETES API SERVER. No kube-apiserver, kind, k3s or container
// engine can run on this machine, so Faultline's Kubernetes client is tested against this small HTTP
// server. It serves the real REST paths and JSON shapes (PodList, Status, Lease, Event) that
// @kubernetes/client-node sends and reads, and reproduces the server behaviour Faultline relies on:
//   - bearer token required (401), optional namespace-scoped RBAC (403 outside the Role's namespaces
//     and on cluster-scoped resources), Status bodies with reason/code;
//   - labelSelector (=, ==, !=, in, notin, exists, !key) and fieldSelector (=, ==, !=) on pod lists,
//     400 for a field a pod does not support;
//   - DELETE pod with gracePeriodSeconds (0 = gone at once, > 0 = terminating: deletionTimestamp set)
//     and preconditions.uid (409 on mismatch);
//   - PATCH pod only as application/strategic-merge-patch+json (containers merged by name, null
//     deletes an annotation), 415 for any other patch type; resourceVersion bumped on every write;
//   - POST events (involvedObject.namespace must match, 422 otherwise);
//   - Leases: create (409 AlreadyExists), get (404), update with metadata.resourceVersion as a
//     compare-and-swap (409 Conflict when stale); MicroTime fields must carry 6 fractional digits.
// Its selector parsing is written independently of exporter/targets/kubernetes/labels.ts.
// Like a real API server it speaks HTTPS, with a certificate for 127.0.0.1 made by openssl for the
// test run; clients trust it through the `ca` PEM (as a kubeconfig's certificate-authority-data).

type Obj = Record<string, any>;

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  body?: Obj;
}

export interface FakeApiServer {
  url: string;
  token: string;
  /** PEM of the server's self-signed certificate (the CA a client must trust). */
  ca: string;
  requests: RecordedRequest[];
  pods: Map<string, Obj>;
  namespaces: Map<string, Obj>;
  nodes: Map<string, Obj>;
  events: Obj[];
  leases: Map<string, Obj>;
  /** Namespace-scoped RBAC: only these namespaces are reachable; undefined = cluster scope. */
  scopedTo?: string[];
  addPod(pod: Obj): void;
  close(): Promise<void>;
}

function status(code: number, reason: string, message: string): Obj {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** Splits "a=b,c in (x,y),!d" at the commas outside parentheses. */
function requirements(sel: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of sel) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function labelMatch(labels: Record<string, string>, sel: string): boolean {
  for (const r of requirements(sel)) {
    let m: RegExpExecArray | null;
    if ((m = /^(\S+)\s+(in|notin)\s+\((.*)\)$/.exec(r))) {
      const vals = m[3].split(',').map((s) => s.trim());
      const has = m[1] in labels;
      if (m[2] === 'in' && !(has && vals.includes(labels[m[1]]))) return false;
      if (m[2] === 'notin' && has && vals.includes(labels[m[1]])) return false;
    } else if ((m = /^([^!=\s]+)\s*!=\s*(\S*)$/.exec(r))) {
      if (labels[m[1]] === m[2]) return false;
    } else if ((m = /^([^!=\s]+)\s*==?\s*(\S*)$/.exec(r))) {
      if (labels[m[1]] !== m[2]) return false;
    } else if ((m = /^!(\S+)$/.exec(r))) {
      if (m[1] in labels) return false;
    } else if ((m = /^(\S+)$/.exec(r))) {
      if (!(m[1] in labels)) return false;
    } else throw new HttpError(400, 'BadRequest', `unable to parse requirement: ${r}`);
  }
  return true;
}

const POD_FIELDS: Record<string, (p: Obj) => string> = {
  'metadata.name': (p) => p.metadata?.name ?? '',
  'metadata.namespace': (p) => p.metadata?.namespace ?? '',
  'spec.nodeName': (p) => p.spec?.nodeName ?? '',
  'spec.restartPolicy': (p) => p.spec?.restartPolicy ?? '',
  'spec.schedulerName': (p) => p.spec?.schedulerName ?? '',
  'spec.serviceAccountName': (p) => p.spec?.serviceAccountName ?? '',
  'spec.hostNetwork': (p) => String(p.spec?.hostNetwork ?? false),
  'status.phase': (p) => p.status?.phase ?? '',
  'status.podIP': (p) => p.status?.podIP ?? '',
  'status.nominatedNodeName': (p) => p.status?.nominatedNodeName ?? '',
};

function fieldMatch(pod: Obj, sel: string): boolean {
  for (const r of sel.split(',').filter(Boolean)) {
    const m = /^([^!=]+)(!=|==|=)(.*)$/.exec(r);
    if (!m) throw new HttpError(400, 'BadRequest', `invalid field selector: ${r}`);
    const get = POD_FIELDS[m[1]];
    if (!get) throw new HttpError(400, 'BadRequest', `field label not supported: ${m[1]}`);
    if ((get(pod) === m[3]) !== (m[2] !== '!=')) return false;
  }
  return true;
}

let cert: { key: string; cert: string } | undefined;

/** A self-signed certificate for 127.0.0.1, made once per test process. */
function testCertificate(): { key: string; cert: string } {
  if (cert) return cert;
  const dir = mkdtempSync(path.join(tmpdir(), `fake-apiserver-${process.pid}-`));
  try {
    const files = selfSignedCert(dir, 'fake-kube-apiserver');
    cert = { key: readFileSync(files.key, 'utf8'), cert: readFileSync(files.cert, 'utf8') };
    return cert;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const MICRO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

export async function startFakeApiServer(opts: { token?: string; scopedTo?: string[] } = {}): Promise<FakeApiServer> {
  let rv = 1000;
  const nextRv = () => String(++rv);
  const token = opts.token ?? `t-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const fake = {
    token,
    requests: [] as RecordedRequest[],
    pods: new Map<string, Obj>(),
    namespaces: new Map<string, Obj>(),
    nodes: new Map<string, Obj>(),
    events: [] as Obj[],
    leases: new Map<string, Obj>(),
    scopedTo: opts.scopedTo,
    addPod(pod: Obj) {
      const p = JSON.parse(JSON.stringify(pod)) as Obj;
      p.metadata.resourceVersion = nextRv();
      fake.pods.set(`${p.metadata.namespace}/${p.metadata.name}`, p);
    },
  };

  function forbidIfScoped(ns: string | undefined, what: string) {
    if (!fake.scopedTo) return;
    if (ns === undefined || !fake.scopedTo.includes(ns)) {
      throw new HttpError(403, 'Forbidden', `${what} is forbidden: User "system:serviceaccount:faultline:faultline-exporter" cannot access it${ns ? ` in the namespace "${ns}"` : ' at the cluster scope'}`);
    }
  }

  function handle(method: string, path: string, q: Record<string, string>, contentType: string | undefined, body: Obj | undefined): [number, Obj] {
    let m: RegExpExecArray | null;
    const list = (kind: string, items: Obj[]) => ({ kind, apiVersion: 'v1', metadata: { resourceVersion: String(rv) }, items });

    if (method === 'GET' && path === '/api/v1/nodes') {
      forbidIfScoped(undefined, 'nodes');
      return [200, list('NodeList', [...fake.nodes.values()].filter((n) => !q.labelSelector || labelMatch(n.metadata.labels ?? {}, q.labelSelector)))];
    }
    if (method === 'GET' && path === '/api/v1/pods') {
      forbidIfScoped(undefined, 'pods');
      return [200, list('PodList', [...fake.pods.values()])];
    }
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(path)) && method === 'GET') {
      forbidIfScoped(undefined, 'namespaces'); // a Role cannot read Namespace objects
      const ns = fake.namespaces.get(m[1]);
      if (!ns) throw new HttpError(404, 'NotFound', `namespaces "${m[1]}" not found`);
      return [200, ns];
    }
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(path)) && method === 'GET') {
      forbidIfScoped(m[1], 'pods');
      const ns = m[1];
      const items = [...fake.pods.values()].filter(
        (p) =>
          p.metadata.namespace === ns &&
          (!q.labelSelector || labelMatch(p.metadata.labels ?? {}, q.labelSelector)) &&
          (!q.fieldSelector || fieldMatch(p, q.fieldSelector)),
      );
      return [200, list('PodList', items)];
    }
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(path))) {
      forbidIfScoped(m[1], 'pods');
      const k = `${m[1]}/${m[2]}`;
      const pod = fake.pods.get(k);
      if (!pod) throw new HttpError(404, 'NotFound', `pods "${m[2]}" not found`);
      if (method === 'GET') return [200, pod];
      if (method === 'DELETE') {
        const uid = body?.preconditions?.uid;
        if (uid && uid !== pod.metadata.uid) {
          throw new HttpError(409, 'Conflict', `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${pod.metadata.uid}`);
        }
        const grace = Number(q.gracePeriodSeconds ?? body?.gracePeriodSeconds ?? 30);
        if (grace === 0) fake.pods.delete(k);
        else {
          pod.metadata.deletionTimestamp = new Date().toISOString();
          pod.metadata.deletionGracePeriodSeconds = grace;
          pod.metadata.resourceVersion = nextRv();
        }
        return [200, pod];
      }
      if (method === 'PATCH') {
        if (contentType !== 'application/strategic-merge-patch+json') {
          throw new HttpError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/strategic-merge-patch+json (this stand-in), got ${contentType}`);
        }
        const ann = body?.metadata?.annotations as Obj | undefined;
        if (ann) {
          pod.metadata.annotations = { ...(pod.metadata.annotations ?? {}) };
          for (const [a, v] of Object.entries(ann)) {
            if (v === null) delete pod.metadata.annotations[a];
            else pod.metadata.annotations[a] = v;
          }
        }
        for (const c of (body?.spec?.containers ?? []) as Obj[]) {
          const target = (pod.spec.containers as Obj[]).find((x) => x.name === c.name);
          if (!target) throw new HttpError(422, 'Invalid', `Pod "${m[2]}" is invalid: spec.containers: adding a container is forbidden`);
          Object.assign(target, c);
        }
        pod.metadata.resourceVersion = nextRv();
        return [200, pod];
      }
    }
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/events$/.exec(path)) && method === 'POST') {
      forbidIfScoped(m[1], 'events');
      if (body?.involvedObject?.namespace !== m[1]) {
        throw new HttpError(422, 'Invalid', 'Event is invalid: involvedObject.namespace: Invalid value: does not match event.namespace');
      }
      if (!body?.metadata?.name || !body?.reason) throw new HttpError(422, 'Invalid', 'Event is invalid: metadata.name and reason are required');
      const ev = { ...body, metadata: { ...body.metadata, namespace: m[1], uid: `ev-${rv}`, resourceVersion: nextRv() } };
      fake.events.push(ev);
      return [201, ev];
    }
    if ((m = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/.exec(path))) {
      forbidIfScoped(m[1], 'leases');
      const ns = m[1];
      for (const f of ['acquireTime', 'renewTime']) {
        const v = body?.spec?.[f];
        if (v !== undefined && !MICRO.test(String(v))) throw new HttpError(400, 'BadRequest', `spec.${f}: ${v} is not a MicroTime (RFC3339 with 6 fractional digits)`);
      }
      if (method === 'POST' && !m[2]) {
        const k = `${ns}/${body?.metadata?.name}`;
        if (fake.leases.has(k)) throw new HttpError(409, 'AlreadyExists', `leases.coordination.k8s.io "${body?.metadata?.name}" already exists`);
        const lease = { ...body, metadata: { ...body?.metadata, namespace: ns, uid: `lease-${rv}`, resourceVersion: nextRv() } };
        fake.leases.set(k, lease);
        return [201, lease];
      }
      const k = `${ns}/${m[2]}`;
      const cur = fake.leases.get(k);
      if (!cur) throw new HttpError(404, 'NotFound', `leases.coordination.k8s.io "${m[2]}" not found`);
      if (method === 'GET') return [200, cur];
      if (method === 'PUT') {
        const want = body?.metadata?.resourceVersion;
        if (want !== undefined && want !== cur.metadata.resourceVersion) {
          throw new HttpError(409, 'Conflict', `Operation cannot be fulfilled on leases.coordination.k8s.io "${m[2]}": the object has been modified; please apply your changes to the latest version and try again`);
        }
        const lease = { ...body, metadata: { ...cur.metadata, resourceVersion: nextRv() } };
        fake.leases.set(k, lease);
        return [200, lease];
      }
    }
    throw new HttpError(404, 'NotFound', `the server could not find the requested resource (${method} ${path})`);
  }

  const tls = testCertificate();
  const server = https.createServer({ key: tls.key, cert: tls.cert }, (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const query = Object.fromEntries(u.searchParams.entries());
      const contentType = req.headers['content-type']?.split(';')[0];
      let body: Obj | undefined;
      let code: number;
      let out: Obj;
      try {
        if (req.headers.authorization !== `Bearer ${token}`) throw new HttpError(401, 'Unauthorized', 'Unauthorized');
        const text = Buffer.concat(chunks).toString('utf8');
        body = text ? (JSON.parse(text) as Obj) : undefined;
        fake.requests.push({ method: req.method ?? 'GET', path: u.pathname, query, ...(contentType ? { contentType } : {}), ...(body ? { body } : {}) });
        [code, out] = handle(req.method ?? 'GET', u.pathname, query, contentType, body);
      } catch (err) {
        const e = err instanceof HttpError ? err : new HttpError(400, 'BadRequest', (err as Error).message);
        code = e.code;
        out = status(e.code, e.reason, e.message);
      }
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, {
    url: `https://127.0.0.1:${port}`,
    ca: tls.cert,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}
