/** Trustee's `sample` plugin: admin-only, unencrypted, answers a fixed text. */
import type { KbsPlugin } from './types.js';

export class SamplePlugin implements KbsPlugin {
  readonly name = 'sample';
  constructor(readonly item: string) {}
  requiresAdmin(): boolean {
    return true;
  }
  encrypted(): boolean {
    return false;
  }
  async handle(): Promise<Uint8Array> {
    return Buffer.from('sample plugin response');
  }
}
