import { useEffect, useRef } from 'preact/hooks';

/**
 * Calls `fn` every `ms` while `on` and the page is visible (a hidden tab polls nothing), and once
 * as soon as the page becomes visible again. A call still running is not overlapped.
 *
 * @example
 *   usePoll(list.reload, 3000, live);
 */
export function usePoll(fn: () => Promise<unknown>, ms: number, on: boolean): void {
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => {
    if (!on) return;
    let running = false;
    const tick = async () => {
      if (running || document.visibilityState !== 'visible') return;
      running = true;
      try {
        await latest.current();
      } finally {
        running = false;
      }
    };
    const timer = setInterval(() => void tick(), ms);
    const onVisible = () => void tick();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [on, ms]);
}
