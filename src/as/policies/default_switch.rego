# Keybroker default attestation policy for NVSwitches (class "switch"), NRAS claims.
# Semantics follow Trustee's default switch policy (specs/trustee.md §3.5).
package policy

import rego.v1

default hardware := 97

default executables := 33

default configuration := 36

trust_claims := {
	"executables": executables,
	"hardware": hardware,
	"configuration": configuration,
	"file-system": 0,
	"instance-identity": 0,
	"runtime-opaque": 0,
	"storage-opaque": 0,
	"sourced-data": 0,
}

# Never fires (no `data` document in the AS), as in Trustee.
hardware := 2 if {
	input.sampledevice.svn in data.reference.device_svn
}

sw := input.nvidia

hardware := 2 if {
	sw["x-nvidia-switch-attestation-report-cert-chain"]["x-nvidia-cert-ocsp-status"] == "good"
	sw["x-nvidia-switch-attestation-report-cert-chain"]["x-nvidia-cert-status"] == "valid"
	sw["x-nvidia-switch-attestation-report-cert-chain-fwid-match"] == true
	sw["x-nvidia-switch-attestation-report-parsed"] == true
	sw["x-nvidia-switch-attestation-report-signature-verified"] == true
	sw["x-nvidia-switch-arch-check"] == true
}

configuration := 2 if {
	switch_debug_locked
	sw["x-nvidia-switch-bios-version"] in query_reference_value("allowed_switch_bios_versions")
} else := 3 if {
	switch_debug_locked
}

switch_debug_locked if {
	sw.secboot == true
	sw.dbgstat == "disabled"
}

executables := 3 if {
	sw["x-nvidia-switch-bios-rim-cert-chain"]["x-nvidia-cert-ocsp-status"] == "good"
	sw["x-nvidia-switch-bios-rim-cert-chain"]["x-nvidia-cert-status"] == "valid"
	every check in ["fetched", "measurements-available", "schema-validated", "signature-verified", "version-match"] {
		sw[sprintf("x-nvidia-switch-bios-rim-%s", [check])] == true
	}
	sw.measres == "success"
}
