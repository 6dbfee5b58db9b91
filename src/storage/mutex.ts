/**
 * A per-name async mutex: calls with the same name run one after another, in call order. Module-global so that two
 * backend objects pointed at the same directory in one process still serialize on the same file.
 */
const tails = new Map<string, Promise<void>>();

export async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const previous = tails.get(name) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const tail = previous.then(() => mine);
  tails.set(name, tail);
  await previous;
  try {
    return await fn();
  } finally {
    release();
    if (tails.get(name) === tail) tails.delete(name);
  }
}
