/**
 * Public surface of the Intel DCAP code, for verifiers that carry a TD quote inside other evidence
 * (e.g. `az-tdx-vtpm`): parse, fully verify against collateral, and Trustee's TDX claims.
 */
export { parseQuote, QuoteFormatError, type Quote, type SgxQuote, type TdxQuote, type TdReportBody, type SgxReportBody } from './quote.js';
export { verifyQuote, verifyQuoteSignatures, INTEL_SGX_ROOT_CA_SHA256, type DcapVerifyOptions, type VerifiedQuote } from './verify.js';
export { tdxQuoteClaims, sgxQuoteClaims, supplementalClaims, tdAttributeFlags } from './claims.js';
export { createDcapVerifier, DcapVerifier, decodeDcapEvidence, regularize, type DcapVerifierOptions, type DcapTee } from './verifier.js';
export { parseDcapConfig, type DcapConfig } from './config.js';
export type { Collateral, CollateralRequest } from './collateral.js';
export type { CollateralSource } from './source.js';
export type { QuoteVerdict, TcbEvaluation } from './tcb.js';
