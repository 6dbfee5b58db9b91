// Registers the tdx verifier(s) with the registry in ../types.ts.
export {};
