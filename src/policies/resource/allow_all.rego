# Every resource from the resource plugin, to any verified attestation token (testing).
package policy

import rego.v1

default allow := false

allow if {
	data.plugin == "resource"
}
