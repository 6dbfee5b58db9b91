/** RVPS errors; messages are safe to return to a client. */
export class RvpsError extends Error {
  constructor(readonly code: 'ERR_RVPS_MESSAGE' | 'ERR_RVPS_EXTRACTOR' | 'ERR_RVPS_STORAGE', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RvpsError';
  }
}
