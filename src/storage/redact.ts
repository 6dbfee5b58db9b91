/**
 * Error messages from database drivers can echo connection strings. Everything a backend puts in a
 * StorageUnavailableError goes through here first: URL credentials and any known secret are replaced.
 */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1***@');
  for (const s of secrets) if (s) out = out.split(s).join('***');
  return out;
}

/** A short, credential-free description of a driver error: its code and its (redacted) message. */
export function describeError(err: unknown, secrets: readonly (string | undefined)[] = []): string {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' || typeof e?.code === 'number' ? String(e.code) : undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const text = redact(message.split('\n')[0] ?? '', secrets).slice(0, 300);
  return code && !text.includes(code) ? `${code}: ${text}` : text;
}
