import type { Request, Response } from 'express';
import { Type } from '@sinclair/typebox';
import type { ExperimentList } from '../../api/experiment';
import { validate } from '../../api/validate';
import { actorOf } from '../auth';
import type { Engine, Ref } from '../engine/lifecycle';

// Experiments: list (filters), create, get, delete, and the actions.

const ListQuery = Type.Object(
  {
    namespace: Type.Optional(Type.String()),
    kind: Type.Optional(Type.String()),
    phase: Type.Optional(Type.String({ description: 'one phase or several, comma separated' })),
    name: Type.Optional(Type.String()),
    experiment: Type.Optional(Type.String({ description: 'same as name' })),
    target: Type.Optional(Type.String({ description: 'substring of a target description or daemon' })),
    schedule: Type.Optional(Type.String({ description: 'only the runs of this schedule' })),
  },
  { additionalProperties: false },
);

const refOf = (req: Request): Ref => ({ namespace: String(req.params.namespace), name: String(req.params.name) });

export function experimentRoutes(engine: Engine) {
  return {
    list(req: Request, res: Response) {
      const q = validate(ListQuery, { ...req.query }, 'query', '/query');
      const body: ExperimentList = { items: engine.list({ ...q, name: q.name ?? q.experiment }) };
      res.json(body);
    },
    async create(req: Request, res: Response) {
      res.status(201).json(await engine.create(req.body, actorOf(req)));
    },
    get(req: Request, res: Response) {
      res.json(engine.get(refOf(req)));
    },
    async remove(req: Request, res: Response) {
      res.json(await engine.delete(refOf(req), actorOf(req)));
    },
    async pause(req: Request, res: Response) {
      res.json(await engine.pause(refOf(req), actorOf(req)));
    },
    async resume(req: Request, res: Response) {
      res.json(await engine.resume(refOf(req), actorOf(req)));
    },
    async stop(req: Request, res: Response) {
      res.json(await engine.stop(refOf(req), actorOf(req)));
    },
    async stopAll(req: Request, res: Response) {
      res.json(await engine.stopAll(actorOf(req)));
    },
  };
}
