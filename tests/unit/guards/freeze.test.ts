import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApiError } from '../../../api/errors';
import { Freeze } from '../../../exporter/freeze';

describe('emergency freeze state', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), `faultline-freeze-${process.pid}-`));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function open(now?: () => number) {
    const db = new Database(path.join(dir, 'faultline.db'));
    db.pragma('journal_mode = WAL');
    const events: { type: string; message: string; actor: string }[] = [];
    const stops: string[] = [];
    const freeze = new Freeze({
      db,
      now,
      stopAll: async (actor) => {
        stops.push(actor);
      },
      emit: (type, message, actor) => events.push({ type, message, actor }),
    });
    return { db, freeze, events, stops };
  }

  it('freezes, stops everything, refuses starts naming who and why, and survives a restart', async () => {
    const a = open();
    expect(a.freeze.state()).toEqual({ frozen: false });
    const s = await a.freeze.freeze({ reason: 'INC-42 checkout down' }, 'alice');
    expect(s).toMatchObject({ frozen: true, reason: 'INC-42 checkout down', actor: 'alice' });
    expect(a.stops).toEqual(['alice']);
    expect(a.events).toEqual([expect.objectContaining({ type: 'frozen', actor: 'alice' })]);
    expect(() => a.freeze.checkStart('experiment shop/x')).toThrow(/frozen since .* by alice: INC-42 checkout down/);
    try {
      a.freeze.checkStart('x');
    } catch (err) {
      expect((err as ApiError).status).toBe(409);
    }
    // A repeat (e.g. the alert again) stops again but emits no second event.
    await a.freeze.freeze({ reason: 'other' }, 'bob');
    expect(a.stops).toEqual(['alice', 'bob']);
    expect(a.events).toHaveLength(1);
    expect(a.freeze.state().reason).toBe('INC-42 checkout down');
    a.freeze.close();
    a.db.close();

    const b = open();
    expect(b.freeze.state()).toMatchObject({ frozen: true, actor: 'alice' });
    expect(b.freeze.unfreeze('carol')).toMatchObject({ frozen: true });
    expect(b.events).toEqual([expect.objectContaining({ type: 'unfrozen', actor: 'carol' })]);
    expect(() => b.freeze.checkStart('x')).not.toThrow();
    b.freeze.unfreeze('carol');
    expect(b.events).toHaveLength(1);
    b.freeze.close();
    b.db.close();
  });

  it('lifts itself at `until`, with an event by system', async () => {
    let t = Date.parse('2026-11-25T07:00:00Z');
    const a = open(() => t);
    await a.freeze.freeze({ reason: 'deploy window', until: '2026-11-25T09:00:00Z' }, 'ci');
    expect(a.freeze.frozen).toBe(true);
    t = Date.parse('2026-11-25T09:00:01Z');
    expect(a.freeze.frozen).toBe(false);
    expect(a.events.map((e) => [e.type, e.actor])).toEqual([['frozen', 'ci'], ['unfrozen', 'system']]);
    a.freeze.close();
    a.db.close();
  });

  it('lifts itself by timer', async () => {
    const a = open();
    await a.freeze.freeze({ reason: 'short', until: new Date(Date.now() + 300).toISOString() }, 'ci');
    const deadline = Date.now() + 10_000;
    while (a.events.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(a.events.map((e) => e.type)).toEqual(['frozen', 'unfrozen']);
    a.freeze.close();
    a.db.close();
  });

  it('rejects an until in the past or not a time, changing nothing', async () => {
    const a = open();
    await expect(a.freeze.freeze({ reason: 'x', until: '2000-01-01T00:00:00Z' }, 'ci')).rejects.toThrow('in the past');
    await expect(a.freeze.freeze({ reason: 'x', until: 'tomorrow' }, 'ci')).rejects.toThrow('not a time');
    expect(a.freeze.frozen).toBe(false);
    expect(a.stops).toEqual([]);
    a.freeze.close();
    a.db.close();
  });
});
