/**
 * The canned resource policies behind `config set-resource-policy --allow-all | --deny-all | --affirming | --default`.
 * Our own Rego, written from the behaviour Trustee's sample policies have (specs/trustee.md §6.3). The resource
 * policy sees `data` = {plugin, resource-path, query} and `input` = the attestation token claims; the KBS asks for
 * `data.policy.allow` and anything but `true` denies.
 *
 * `--default`: Trustee's kbs-client embeds deny_all.rego here (a quirk). We send the KBS's own default policy
 * instead — allow the `resource` plugin unless the evidence came from the `sample` TEE — because that is what the
 * flag's help text promises.
 */
export type CannedPolicy = 'allow-all' | 'deny-all' | 'affirming' | 'default';

const ALLOW_ALL = `package policy

import rego.v1

default allow := false

allow if {
	data.plugin == "resource"
}
`;

const DENY_ALL = `package policy

import rego.v1

default allow := false
`;

// The resource plugin only, when every submodule of the EAR token is affirming and there is at least one. A
// submodule without "ear.status" counts as not affirming.
const AFFIRMING = `package policy

import rego.v1

default allow := false

allow if {
	data.plugin == "resource"
	count(input.submods) > 0
	not some_submod_not_affirming
}

some_submod_not_affirming if {
	some name
	input.submods[name]
	not input.submods[name]["ear.status"] == "affirming"
}
`;

const DEFAULT = `package policy

import rego.v1

default allow := false

allow if {
	data.plugin == "resource"
	not sample_tee
}

# Defined whenever the evidence has a \`sample\` member, whatever its value (even false or null).
sample_tee if {
	_ = input.submods.cpu0["ear.veraison.annotated-evidence"].sample
}
`;

export const CANNED_POLICIES: Readonly<Record<CannedPolicy, string>> = {
  'allow-all': ALLOW_ALL,
  'deny-all': DENY_ALL,
  affirming: AFFIRMING,
  default: DEFAULT,
};
