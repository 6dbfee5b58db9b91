# Keybroker default attestation policy for GPUs (class "gpu"): NVIDIA claims as produced by NRAS
# (remote verifier) and the insecure `sampledevice`. Semantics follow Trustee's default GPU policy
# (specs/trustee.md §3.5).
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

# As in Trustee, the AS evaluates without a `data` document, so this rule never fires: a
# sampledevice is only trusted through a custom policy (e.g. one using query_reference_value).
hardware := 2 if {
	input.sampledevice.svn in data.reference.device_svn
}

gpu := input.nvidia

hardware := 2 if {
	gpu["x-nvidia-gpu-attestation-report-cert-chain"]["x-nvidia-cert-ocsp-status"] == "good"
	gpu["x-nvidia-gpu-attestation-report-cert-chain"]["x-nvidia-cert-status"] == "valid"
	gpu["x-nvidia-gpu-attestation-report-cert-chain-fwid-match"] == true
	gpu["x-nvidia-gpu-attestation-report-parsed"] == true
	gpu["x-nvidia-gpu-attestation-report-signature-verified"] == true
	gpu["x-nvidia-gpu-arch-check"] == true
}

configuration := 2 if {
	gpu_debug_locked
	gpu["x-nvidia-gpu-vbios-version"] in query_reference_value("allowed_vbios_versions")
	gpu["x-nvidia-gpu-driver-version"] in query_reference_value("allowed_driver_versions")
} else := 3 if {
	gpu_debug_locked
}

gpu_debug_locked if {
	gpu.secboot == true
	gpu.dbgstat == "disabled"
}

executables := 3 if {
	every rim in ["driver", "vbios"] {
		gpu_rim_ok(rim)
	}
	gpu["x-nvidia-gpu-vbios-rim-cert-chain"]["x-nvidia-cert-ocsp-status"] == "good"
	gpu["x-nvidia-gpu-vbios-rim-cert-chain"]["x-nvidia-cert-status"] == "valid"
	gpu.measres == "success"
}

gpu_rim_ok(rim) if {
	every check in ["fetched", "measurements-available", "schema-validated", "signature-verified", "version-match"] {
		gpu[sprintf("x-nvidia-gpu-%s-rim-%s", [rim, check])] == true
	}
}
