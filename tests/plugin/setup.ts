// Browser APIs that jsdom lacks but @grafana/ui uses (TextEncoder, media queries, element resize
// and intersection observers, scrolling). They do nothing here; the browser tests use the real ones.
import '@testing-library/jest-dom';
import { TextDecoder, TextEncoder } from 'node:util';

if (!window.matchMedia) {
  window.matchMedia = (query: string) =>
    ({
      matches: false,
      media: query,
      onchange: null,
      addListener: () => {},
      removeListener: () => {},
      addEventListener: () => {},
      removeEventListener: () => {},
      dispatchEvent: () => false,
    }) as MediaQueryList;
}

class NoopObserver {
  observe() {}
  unobserve() {}
  disconnect() {}
  takeRecords() {
    return [];
  }
}
const g = globalThis as Record<string, unknown>;
g.TextEncoder ??= TextEncoder;
g.TextDecoder ??= TextDecoder;
g.ResizeObserver ??= NoopObserver;
g.IntersectionObserver ??= NoopObserver;
if (!Element.prototype.scrollIntoView) Element.prototype.scrollIntoView = () => {};

// Combobox sizes its menu from the text width (canvas measureText): jsdom has no canvas. An
// approximate width per character is enough for layout code that has no layout here anyway.
HTMLCanvasElement.prototype.getContext = function getContext() {
  return { font: '', measureText: (text: string) => ({ width: text.length * 7 }) } as unknown as CanvasRenderingContext2D;
} as unknown as HTMLCanvasElement['getContext'];


// @grafana/ui's Icon draws its SVG with react-inlinesvg, which fetches the file and renders nothing
// until then: in jsdom an icon button (Combobox's "Clear value" among them) is not in the DOM at all.
// Like Grafana's own jest setup, an icon is an empty <svg> that keeps its title, role and handlers.
jest.mock('react-inlinesvg', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const React = require('react') as typeof import('react');
  type SvgProps = Record<string, unknown> & { title?: string; innerRef?: unknown; src?: string };
  const Svg = ({ title, innerRef, src, cacheRequests: _c, preProcessor: _p, uniquifyIDs: _u, loader: _l, ...rest }: SvgProps) =>
    React.createElement('svg', { ...rest, ref: innerRef, 'data-src': src }, title ? React.createElement('title', null, title) : null);
  return { __esModule: true, default: Svg };
});
