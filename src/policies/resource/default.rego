# Keybroker's default resource policy, installed when none is stored.
#
# Like Trustee's sample_policies/default.rego it serves the resource plugin to verified attestation tokens except
# those produced by the `sample` TEE (no hardware root of trust). Stricter than Trustee's: it also refuses a token
# in which any submodule's EAR status is "contraindicated" — e.g. a real TEE whose TCB or measurements match no
# registered reference value — so that a fresh deployment never releases secrets to evidence its own attestation
# policy rejected. Production deployments should install a policy of their own (or `kbs-client config
# set-resource-policy --affirming`).
package policy

import rego.v1

default allow := false

allow if {
	data.plugin == "resource"
	not sample_tee
	count(input.submods) > 0
	not contraindicated
}

# Defined whenever the evidence has a `sample` member, whatever its value.
sample_tee if {
	_ = input.submods.cpu0["ear.veraison.annotated-evidence"].sample
}

contraindicated if {
	some submod in input.submods
	submod["ear.status"] == "contraindicated"
}
