// Registers the `az-snp-vtpm` verifier (Azure SEV-SNP CVM with HCL vTPM) with the registry in ../types.ts.
import { registerVerifier } from '../types.js';
import { AzSnpVtpmVerifier } from './verifier.js';

registerVerifier('az-snp-vtpm', (ctx) => new AzSnpVtpmVerifier(ctx));
