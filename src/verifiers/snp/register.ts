// Registers the snp verifier(s) with the registry in ../types.ts.
export {};
