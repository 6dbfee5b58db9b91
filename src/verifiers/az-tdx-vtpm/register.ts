// Registers the `az-tdx-vtpm` verifier (Azure TDX CVM with HCL vTPM) with the registry in ../types.ts.
import { registerVerifier } from '../types.js';
import { createAzTdxVtpmVerifier } from './verifier.js';

registerVerifier('az-tdx-vtpm', (ctx) => createAzTdxVtpmVerifier(ctx));
