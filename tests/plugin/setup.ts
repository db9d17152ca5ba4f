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

