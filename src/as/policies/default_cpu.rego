# Keybroker default attestation policy for CPU TEEs (class "cpu").
#
# Produces an AR4SI trustworthiness vector (draft-ietf-rats-ar4si) from the verifier claims in `input`
# and the reference values served by the RVPS through the host built-in `query_reference_value(id)`.
# Semantics follow Trustee's default CPU policy (specs/trustee.md §3.5); only one TEE key is ever
# present in `input`, so the per-TEE rules below never compete.
package policy

import rego.v1

# Unrecognised executables (33), unrecognised hardware (97), configuration unavailable (36),
# no assertion (0) for everything else.
default executables := 33

default hardware := 97

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

# ---------------------------------------------------------------- sample (insecure test TEE)

executables := 3 if {
	input.sample
	input.sample.launch_digest in query_reference_value("launch_digest")
}

hardware := 2 if {
	input.sample
	input.sample.svn in query_reference_value("svn")
	input.sample.platform_version.major == query_reference_value("major_version")

	# Rego orders null below every number, so a missing reference value would satisfy `>=`:
	# require a number (stricter than Trustee, whose policy passes when the value is absent).
	min_minor := query_reference_value("minimum_minor_version")
	is_number(min_minor)
	input.sample.platform_version.minor >= min_minor
}

configuration := 2 if {
	input.sample
	input.sample.debug == false
}

# ---------------------------------------------------------------- AMD SEV-SNP

executables := 3 if {
	input.snp
	input.snp.measurement in query_reference_value("snp_launch_measurement")
}

hardware := 2 if {
	input.snp
	input.snp.reported_tcb_bootloader in query_reference_value("snp_bootloader")
	input.snp.reported_tcb_microcode in query_reference_value("snp_microcode")
	input.snp.reported_tcb_snp in query_reference_value("snp_snp_svn")
	input.snp.reported_tcb_tee in query_reference_value("snp_tee_svn")
}

# 2: every configuration field is the approved one; 3: at least debug and migration agents are off.
configuration := 2 if {
	snp_guest_locked_down
	input.snp.platform_smt_enabled == query_reference_value("snp_smt_enabled")
	input.snp.platform_tsme_enabled == query_reference_value("snp_tsme_enabled")
	input.snp.policy_abi_major == query_reference_value("snp_guest_abi_major")
	input.snp.policy_abi_minor == query_reference_value("snp_guest_abi_minor")
	input.snp.policy_single_socket == query_reference_value("snp_single_socket")
	input.snp.policy_smt_allowed == query_reference_value("snp_smt_allowed")
} else := 3 if {
	snp_guest_locked_down
}

snp_guest_locked_down if {
	input.snp
	input.snp.policy_debug_allowed == false
	input.snp.policy_migrate_ma == false
}

# ---------------------------------------------------------------- Intel TDX

intel_tdx_tee_type := "81000000"

intel_qe_vendor_id := "939a7233f79c4ca9940a0db3957f0607"

# 3: RTMRs and the measured kernel + command line match; 4: only the RTMRs match (grub / GKE boots).
executables := 3 if {
	tdx_rtmrs_match
	tdx_kernel_matches
	tdx_kernel_params_match
} else := 4 if {
	tdx_rtmrs_match
}

tdx_rtmrs_match if {
	input.tdx
	input.tdx.quote.body.rtmr_1 in query_reference_value("rtmr_1")
	input.tdx.quote.body.rtmr_2 in query_reference_value("rtmr_2")
}

tdx_kernel_matches if {
	some ev in input.tdx.uefi_event_logs
	ev.type_name == "EV_EFI_BOOT_SERVICES_APPLICATION"
	"File(kernel)" in ev.details.device_paths
	some d in ev.digests
	d.digest == query_reference_value("tdvfkernel")
}

tdx_kernel_params_match if {
	some ev in input.tdx.uefi_event_logs
	ev.type_name == "EV_EVENT_TAG"
	ev.details.string == "LOADED_IMAGE::LoadOptions"
	some d in ev.digests
	d.digest == query_reference_value("tdvfkernelparams")
}

hardware := 2 if {
	input.tdx
	input.tdx.quote.header.tee_type == intel_tdx_tee_type
	input.tdx.quote.header.vendor_id == intel_qe_vendor_id
	input.tdx.quote.body.mr_td in query_reference_value("mr_td")
	input.tdx.tcb_status == "UpToDate"
	input.tdx.collateral_expiration_status == "0"
}

configuration := 2 if {
	input.tdx
	input.tdx.td_attributes.debug == false
	input.tdx.quote.body.xfam in query_reference_value("xfam")
}

# ---------------------------------------------------------------- Azure SEV-SNP confidential VM (vTPM)

executables := 3 if {
	azsnp := input["az-snp-vtpm"]
	azsnp.measurement in query_reference_value("measurement")
	azsnp.tpm.pcr11 in query_reference_value("snp_pcr11")
}

hardware := 2 if {
	azsnp := input["az-snp-vtpm"]
	azsnp.reported_tcb_bootloader in query_reference_value("tcb_bootloader")
	azsnp.reported_tcb_microcode in query_reference_value("tcb_microcode")
	azsnp.reported_tcb_snp in query_reference_value("tcb_snp")
	azsnp.reported_tcb_tee in query_reference_value("tcb_tee")
}

configuration := 2 if {
	azsnp := input["az-snp-vtpm"]
	azsnp.platform_smt_enabled in query_reference_value("smt_enabled")
	azsnp.platform_tsme_enabled in query_reference_value("tsme_enabled")
	azsnp.policy_abi_major in query_reference_value("abi_major")
	azsnp.policy_abi_minor in query_reference_value("abi_minor")
	azsnp.policy_single_socket in query_reference_value("single_socket")
	azsnp.policy_smt_allowed in query_reference_value("smt_allowed")
}

# ---------------------------------------------------------------- Azure TDX confidential VM (vTPM)

executables := 3 if {
	aztdx := input["az-tdx-vtpm"]
	aztdx.tpm.pcr11 in query_reference_value("tdx_pcr11")
}

hardware := 2 if {
	aztdx := input["az-tdx-vtpm"]
	aztdx.quote.header.tee_type == intel_tdx_tee_type
	aztdx.quote.header.vendor_id == intel_qe_vendor_id
	aztdx.quote.body.mr_td in query_reference_value("mr_td")
	aztdx.tcb_status == "UpToDate"
}

configuration := 2 if {
	aztdx := input["az-tdx-vtpm"]
	aztdx.quote.body.xfam in query_reference_value("xfam")
}

# ---------------------------------------------------------------- plain TPM
# Whether the attestation key is trusted is decided here, through the `trusted_aks` reference value.

executables := 3 if {
	input.tpm
	input.tpm.pcr11 in query_reference_value("tpm_pcr11")
	input.tpm.ak_public in query_reference_value("trusted_aks")
}

hardware := 2 if input.tpm

configuration := 0 if input.tpm

# ---------------------------------------------------------------- IBM Secure Execution (the verifier checks everything)

executables := 3 if input.se

hardware := 2 if input.se

configuration := 2 if input.se

# ---------------------------------------------------------------- identifiers validated by the init-data agent policy

extensions := [{
	"name": "ear.trustee.identifiers",
	"key": -18,
	"value": {"validated": object.union(image_identifiers, uid_identifiers)},
}]

agent_containers := object.get(input, ["init_data_claims", "agent_policy_claims", "containers"], [])

container_images := [name |
	some c in agent_containers
	name := c.OCI.Annotations["io.kubernetes.cri.image-name"]
]

container_uids := [uid |
	some c in agent_containers
	uid := c.OCI.Process.User.UID
]

image_identifiers := {"container_images": container_images} if count(container_images) > 0 else := {}

uid_identifiers := {"container_uids": container_uids} if count(container_uids) > 0 else := {}
