/**
 * The canned resource policies (our own Rego, equivalent in behaviour to Trustee's sample policies, specs/trustee.md
 * §6.3), shared by the KBS (the default it installs) and kbs-client (`config set-resource-policy --allow-all |
 * --deny-all | --affirming | --default`). Data only: no server code, so the client may import it.
 */
import { readFileSync } from 'node:fs';

export type ResourcePolicyName = 'default' | 'allow_all' | 'deny_all' | 'affirming';

const cache = new Map<ResourcePolicyName, string>();

export function resourcePolicyText(name: ResourcePolicyName): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(new URL(`./resource/${name}.rego`, import.meta.url), 'utf8');
    cache.set(name, text);
  }
  return text;
}
