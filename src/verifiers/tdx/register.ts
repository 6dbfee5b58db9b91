// Registers the tdx verifier with the registry in ../types.ts.
import { registerVerifier } from '../types.js';
import { createTdxVerifier } from './verifier.js';

registerVerifier('tdx', (ctx) => createTdxVerifier(ctx));
