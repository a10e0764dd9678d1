import type { FrontEnd } from './context.ts';

/**
 * A front end whose modules load at its first request. A server that never sees one (Swift and the console only)
 * then never holds its code and libraries: a few MiB of heap, and more at each GC's peak.
 */
export function lazyFrontEnd(load: () => Promise<FrontEnd>): FrontEnd {
  let loading: Promise<FrontEnd> | null = null;
  let loaded: FrontEnd | null = null;
  return (req, res, ctx) => {
    if (loaded) return loaded(req, res, ctx);
    loading ??= load().then((frontEnd) => (loaded = frontEnd));
    return loading.then((frontEnd) => frontEnd(req, res, ctx));
  };
}
