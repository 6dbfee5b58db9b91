/**
 * The canned resource policies behind `config set-resource-policy --allow-all | --deny-all | --affirming | --default`.
 * Our own Rego, written from the behaviour Trustee's sample policies have (specs/trustee.md §6.3). The resource
 * policy sees `data` = {plugin, resource-path, query} and `input` = the attestation token claims; the KBS asks for
 * `data.policy.allow` and anything but `true` denies.
 *
 * `--default`: Trustee's kbs-client embeds deny_all.rego here (a quirk). We send the KBS's own default policy
 * instead (src/policies/resource/default.rego) because that is what the flag's help text promises.
 */
import { resourcePolicyText, type ResourcePolicyName } from '../policies/resource.js';

export type CannedPolicy = 'allow-all' | 'deny-all' | 'affirming' | 'default';

const FILE: Readonly<Record<CannedPolicy, ResourcePolicyName>> = {
  'allow-all': 'allow_all',
  'deny-all': 'deny_all',
  affirming: 'affirming',
  default: 'default',
};

/** The Rego text of a canned policy (the same files the KBS installs its default from). */
export function cannedPolicy(name: CannedPolicy): string {
  return resourcePolicyText(FILE[name]);
}
