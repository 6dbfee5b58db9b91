// Registers the sample verifier(s) with the registry in ../types.ts.
export {};
