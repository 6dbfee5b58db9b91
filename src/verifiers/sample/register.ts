// Registers the insecure `sample` (cpu) and `sampledevice` (gpu) verifiers with the registry in ../types.ts.
import { registerVerifier } from '../types.js';
import { SampleDeviceVerifier, SampleVerifier } from './verifier.js';

registerVerifier('sample', (ctx) => {
  ctx.log?.warn('verifier "sample" is enabled: its evidence is unsigned and proves nothing about the TEE');
  return new SampleVerifier();
});
registerVerifier('sampledevice', (ctx) => {
  ctx.log?.warn('verifier "sampledevice" is enabled: its evidence is unsigned and proves nothing about the device');
  return new SampleDeviceVerifier();
});
