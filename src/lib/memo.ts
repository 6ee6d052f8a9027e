/**
 * Values worth keeping per key on a hot path (parsed templates, imported keys, URL checks): made
 * once, then reused. Bounded by forgetting everything once `max` keys are held — the keys that
 * repeat (a callback's URL, its secret) come back at once, and no entry needs bookkeeping.
 */
export class Memo<K, V> {
  private readonly values = new Map<K, V>();

  constructor(private readonly max: number) {}

  /** The value kept for `key`, made by `make` the first time it is asked for. */
  get(key: K, make: (key: K) => V): V {
    let value = this.values.get(key);
    if (value === undefined) {
      value = make(key);
      if (this.values.size >= this.max) this.values.clear();
      this.values.set(key, value);
    }
    return value;
  }
}
