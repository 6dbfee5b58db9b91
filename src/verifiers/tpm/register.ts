// Registers the plain `tpm` verifier with the registry in ../types.ts.
import { registerVerifier } from '../types.js';
import { TpmVerifier } from './verifier.js';

registerVerifier('tpm', (ctx) => new TpmVerifier(ctx));
