// Registers the sgx verifier(s) with the registry in ../types.ts.
export {};
