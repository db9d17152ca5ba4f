import { durationWithinMax, formatDuration, MAX_DURATION_MS, parseDuration, parseRate, parseSize, parseSizeOrPercent } from '../../api/units';

describe('units', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1500],
  ])('parses duration %s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '30', '-1s', '1d', '5 m', 's'])('rejects duration %j', (text) => expect(() => parseDuration(text)).toThrow(/not a duration/));

  it('bounds durations at 168h: the edge is in, anything longer or overflowing is out', () => {
    expect(MAX_DURATION_MS).toBe(168 * 3_600_000);
    expect(durationWithinMax('168h')).toBe(true);
    expect(durationWithinMax('167h59m60s')).toBe(true);
    for (const t of ['168h1ms', '169h', '99999999999h', `${'9'.repeat(400)}s`, '10081m', 'nope']) expect([t, durationWithinMax(t)]).toEqual([t, false]);
  });

  it('formats durations', () => {
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(250)).toBe('250ms');
    expect(formatDuration(0)).toBe('0ms');
  });

  it.each([
    ['256MiB', 256 * 1024 ** 2],
    ['1G', 1e9],
    ['4096', 4096],
    ['1.5KiB', 1536],
  ])('parses size %s', (text, bytes) => expect(parseSize(text)).toBe(bytes));

  it.each(['', 'MiB', '-5M', '5 parsecs'])('rejects size %j', (text) => expect(() => parseSize(text)).toThrow(/not a size/));

  it('parses percent of a total', () => {
    expect(parseSizeOrPercent('20%', 1000)).toBe(200);
    expect(() => parseSizeOrPercent('120%', 1000)).toThrow(/more than 100/);
  });

  it('parses rates in bits per second', () => {
    expect(parseRate('8mbit')).toBe(8_000_000);
    expect(parseRate('1mbps')).toBe(8_000_000);
    expect(() => parseRate('fast')).toThrow(/not a rate/);
  });
});
