/** A KBS plugin (`/kbs/v0/<name>/…`, specs/trustee.md §1.1, §6.5): it says per request who may call and whether the reply is encrypted. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface PluginRequest {
  method: HttpMethod;
  /** Segments after the plugin name, raw. */
  path: string[];
  query: Record<string, string>;
  body: Buffer;
}

export interface KbsPlugin {
  readonly name: string;
  /** true → admin credentials; false → attestation token + resource policy. */
  requiresAdmin(req: PluginRequest): boolean;
  /** Attestation path only: wrap the output in a JWE to the tee-pubkey. */
  encrypted(req: PluginRequest): boolean;
  /** Throws KbsError subclasses (PluginInternalError) on failure. */
  handle(req: PluginRequest): Promise<Uint8Array>;
}
