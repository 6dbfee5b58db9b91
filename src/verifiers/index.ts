/**
 * Importing this module registers every built-in verifier. Adding a TEE is one new folder with a `register.ts`
 * and one line here.
 */
import './sample/register.js';
import './snp/register.js';
import './tdx/register.js';
import './sgx/register.js';
import './tpm/register.js';
import './az-snp-vtpm/register.js';
import './az-tdx-vtpm/register.js';

export { registeredTees, verifierFactory } from './types.js';
