import spec from '../../api/kinds/network-netem';
import { check, validate } from '../../api/validate';
import { checkImpairments, netemArgs } from '../../daemon/faults/network-netem';

// network-netem: the tc argv built from params (this kernel has no sch_netem, so the argv is what can
// be checked everywhere), and the params schema's refusals, each naming its field.

const argv = (params: unknown) => netemArgs(validate(spec.params, params));

describe('network-netem tc arguments', () => {
  it('delay with jitter and correlation, in milliseconds and percents', () => {
    expect(argv({ delay: { latency: '100ms', jitter: '10ms', correlation: 25 } })).toEqual(['delay', '100ms', '10ms', '25%']);
  });

  it('fills defaults (no jitter, no correlation) and converts seconds and microseconds', () => {
    expect(argv({ delay: { latency: '1.5s' } })).toEqual(['delay', '1500ms', '0ms', '0%']);
    expect(argv({ delay: { latency: '500us' } })).toEqual(['delay', '0.5ms', '0ms', '0%']);
  });

  it('reorder follows the delay it needs, with gap only when set', () => {
    expect(argv({ delay: { latency: '10ms', reorder: { percent: 25, correlation: 50 } } })).toEqual(['delay', '10ms', '0ms', '0%', 'reorder', '25%', '50%']);
    expect(argv({ delay: { latency: '10ms', reorder: { percent: 25, gap: 5 } } })).toEqual(['delay', '10ms', '0ms', '0%', 'reorder', '25%', '0%', 'gap', '5']);
  });

  it('every impairment at once, in one qdisc', () => {
    expect(
      argv({
        delay: { latency: '50ms', jitter: '5ms', correlation: 10 },
        loss: { percent: 12.5, correlation: 25 },
        duplicate: { percent: 1 },
        corrupt: { percent: 0.5, correlation: 5 },
        rate: '8mbit',
      }),
    ).toEqual(['delay', '50ms', '5ms', '10%', 'loss', 'random', '12.5%', '25%', 'duplicate', '1%', '0%', 'corrupt', '0.5%', '5%', 'rate', '8000000bit']);
  });

  it('loss alone, rate alone (bytes per second become bits)', () => {
    expect(argv({ loss: { percent: 30 } })).toEqual(['loss', 'random', '30%', '0%']);
    expect(argv({ rate: '1mbps' })).toEqual(['rate', '8000000bit']);
  });
});

describe('network-netem params: bad and hostile input names the field', () => {
  it.each([
    [{}, '/params'],
    [{ delay: {} }, '/params/delay/latency'],
    [{ delay: { latency: '10' } }, '/params/delay/latency'],
    [{ delay: { latency: '-5ms' } }, '/params/delay/latency'],
    [{ delay: { latency: '10ms; reboot' } }, '/params/delay/latency'],
    [{ delay: { latency: '10ms', jitter: 'lots' } }, '/params/delay/jitter'],
    [{ delay: { latency: '10ms', correlation: 101 } }, '/params/delay/correlation'],
    [{ delay: { latency: '10ms', reorder: { percent: 10, gap: -1 } } }, '/params/delay/reorder/gap'],
    [{ reorder: { percent: 10 } }, '/params/reorder'],
    [{ loss: { percent: -1 } }, '/params/loss/percent'],
    [{ loss: { percent: '30' } }, '/params/loss/percent'],
    [{ loss: 30 }, '/params/loss'],
    [{ duplicate: { percent: 200 } }, '/params/duplicate/percent'],
    [{ corrupt: { percent: 5, extra: 1 } }, '/params/corrupt/extra'],
    [{ rate: '8 furlongs' }, '/params/rate'],
    [{ rate: '$(id)mbit' }, '/params/rate'],
    [{ bandwidth: '1mbit' }, '/params/bandwidth'],
  ])('%j is refused at %s', (params, field) => {
    expect(check(spec.params, params, '/params').map((d) => d.field)).toContain(field);
  });
});

describe('network-netem with peers only', () => {
  it('is refused naming /params: peers are the other side, not an impairment', () => {
    expect(() => checkImpairments({ peers: ['10.0.0.1'] } as never)).toThrow(expect.objectContaining({ status: 400, details: [expect.objectContaining({ field: '/params' })] }));
    expect(() => checkImpairments({ loss: { percent: 5, correlation: 0 }, peers: ['10.0.0.1'] } as never)).not.toThrow();
  });
});
