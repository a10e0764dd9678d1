/** Small hooks shared by the screens. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface Loaded<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/**
 * Runs `load` when `deps` change (and on reload); a late answer to an outdated request is dropped. A reload that
 * fails keeps what was shown (with the error beside it): a failed refresh never takes the user's view away.
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: unknown; loading: boolean }>({ data: null, error: null, loading: true });
  const [generation, setGeneration] = useState(0);
  const latest = useRef(0);
  const shownDeps = useRef<unknown[] | null>(null);
  useEffect(() => {
    const run = ++latest.current;
    const sameView = shownDeps.current !== null && shownDeps.current.length === deps.length && shownDeps.current.every((dep, i) => Object.is(dep, deps[i]));
    setState((previous) => ({ ...previous, loading: true }));
    load().then(
      (data) => {
        if (run !== latest.current) return;
        shownDeps.current = deps;
        setState({ data, error: null, loading: false });
      },
      (error: unknown) => {
        if (run === latest.current) setState((previous) => ({ data: sameView ? previous.data : null, error, loading: false }));
      },
    );
  }, [...deps, generation]);
  const reload = useCallback(() => {
    setGeneration((n) => n + 1);
  }, []);
  return { ...state, reload };
}

/** Runs `task` for each item, `concurrency` at a time; `onDone` after each. Stops taking new items on abort. */
export async function runEach<T>(items: AsyncIterable<T> | Iterable<T>, concurrency: number, task: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
  const iterator = Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : items[Symbol.iterator]();
  const worker = async (): Promise<void> => {
    for (;;) {
      if (signal?.aborted) return;
      const next = await iterator.next();
      if (next.done) return;
      await task(next.value);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
