import { Router, type Request } from 'express';
import { actorOf } from '../auth';
import type { WorkflowEngine } from './engine';

// Workflow routes, in the same style as the experiment routes: list, create, get, delete, abort.
export function workflowRoutes(w: WorkflowEngine): Router {
  const r = Router();
  const ref = (req: Request) => ({ namespace: String(req.params.namespace), name: String(req.params.name) });
  r.get('/workflows', (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    res.json({ items: w.list({ namespace: q.namespace || undefined, phase: q.phase || undefined }) });
  });
  r.post('/workflows', (req, res) => {
    res.status(201).json(w.create(req.body, actorOf(req)));
  });
  r.get('/workflows/:namespace/:name', (req, res) => {
    res.json(w.get(ref(req)));
  });
  r.delete('/workflows/:namespace/:name', async (req, res) => {
    res.json(await w.delete(ref(req), actorOf(req)));
  });
  r.post('/workflows/:namespace/:name/abort', async (req, res) => {
    res.json(await w.abort(ref(req), 'aborted', actorOf(req)));
  });
  return r;
}
