// Registers the `snp` verifier with the registry in ../types.ts.
import { registerVerifier } from '../types.js';
import { SnpVerifier } from './verifier.js';

registerVerifier('snp', (ctx) => new SnpVerifier(ctx));
