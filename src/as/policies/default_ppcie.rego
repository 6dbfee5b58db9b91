# Keybroker default attestation policy for NVIDIA protected PCIe mode (class "ppcie"): the verifier
# only emits this claim set for a consistent 8-GPU / 4-switch topology, so the configuration is
# approved (2) and nothing else is asserted. Semantics follow Trustee (specs/trustee.md §3.5).
package policy

import rego.v1

trust_claims := {
	"executables": 0,
	"hardware": 0,
	"configuration": 2,
	"file-system": 0,
	"instance-identity": 0,
	"runtime-opaque": 0,
	"storage-opaque": 0,
	"sourced-data": 0,
}
