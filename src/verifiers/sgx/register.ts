// Registers the sgx verifier with the registry in ../types.ts.
import { registerVerifier } from '../types.js';
import { createSgxVerifier } from './verifier.js';

registerVerifier('sgx', (ctx) => createSgxVerifier(ctx));
