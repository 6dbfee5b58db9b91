# Keybroker's default resource policy (equivalent of Trustee's sample_policies/default.rego):
# the resource plugin is served to any verified attestation token except one produced by the
# `sample` TEE, which has no hardware root of trust.
package policy

import rego.v1

default allow := false

allow if {
	data.plugin == "resource"
	not sample_tee
}

# Defined whenever the evidence has a `sample` member, whatever its value.
sample_tee if {
	_ = input.submods.cpu0["ear.veraison.annotated-evidence"].sample
}
