/**
 * Raw-member extraction (the bytes a collateral signature covers) and strict decoding of TCB Info / QE identity.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeTcbInfo, parseSignedQeIdentity, parseSignedTcbInfo, rawMembers } from '../../../src/verifiers/dcap/collateral.js';
import { qeIdentityObject, tcbInfoObject } from './support/forge.js';

test('rawMembers returns each member text byte for byte, whatever strings and nesting contain', () => {
  const text = ' { "a" : {"x":"}\\"{[","y":[1,{"z":"]"}]} ,"b":"q\\\\","c":-1.5e3, "d":[ ] ,"e":null}';
  const m = rawMembers(text);
  assert.equal(m.get('a'), '{"x":"}\\"{[","y":[1,{"z":"]"}]}');
  assert.equal(m.get('b'), '"q\\\\"');
  assert.equal(m.get('c'), '-1.5e3');
  assert.equal(m.get('d'), '[ ]');
  assert.equal(m.get('e'), 'null');
  // Every extracted text is itself the JSON of the parsed member.
  const parsed = JSON.parse(text) as Record<string, unknown>;
  for (const [k, v] of m) assert.deepEqual(JSON.parse(v), parsed[k]);
});

test('duplicate members and invalid JSON are refused (no parser differential over the signed text)', () => {
  const body = JSON.stringify(tcbInfoObject());
  assert.throws(() => parseSignedTcbInfo(`{"tcbInfo":${body},"tcbInfo":${body},"signature":"${'00'.repeat(64)}"}`), { code: 'ERR_DCAP_COLLATERAL' });
  assert.throws(() => parseSignedTcbInfo(`{"tcbInfo":${body},"signature":"${'00'.repeat(64)}"`), SyntaxError);
  assert.throws(() => parseSignedTcbInfo(`{"tcbInfo":${body}}`), { code: 'ERR_DCAP_COLLATERAL' });
  assert.throws(() => parseSignedTcbInfo(`{"tcbInfo":${body},"signature":"abc"}`), { code: 'ERR_DCAP_COLLATERAL' });
});

test('TCB Info / QE identity decoding is strict', () => {
  const ok = decodeTcbInfo(tcbInfoObject());
  assert.equal(ok.tcbLevels.length, 2);
  assert.equal(ok.tdxModuleIdentities?.[0].id, 'TDX_03');
  const bad = (patch: Record<string, unknown>) => () => decodeTcbInfo({ ...tcbInfoObject(), ...patch });
  assert.throws(bad({ version: 2 }), { code: 'ERR_DCAP_COLLATERAL' });
  assert.throws(bad({ fmspc: '00A06D08' }), { code: 'ERR_DCAP_COLLATERAL' });
  assert.throws(bad({ issueDate: 'yesterday' }), { code: 'ERR_DCAP_COLLATERAL' });
  assert.throws(bad({ tcbLevels: [{ tcb: { sgxtcbcomponents: [], pcesvn: 1 }, tcbDate: 'x', tcbStatus: 'UpToDate' }] }), { code: 'ERR_DCAP_COLLATERAL' });
  const lvl = (tcbInfoObject().tcbLevels as Record<string, unknown>[])[0];
  assert.throws(bad({ tcbLevels: [{ ...lvl, tcbStatus: 'Fine' }] }), { code: 'ERR_DCAP_COLLATERAL' });
  const qe = JSON.stringify(qeIdentityObject());
  assert.equal(parseSignedQeIdentity(`{"enclaveIdentity":${qe},"signature":"${'11'.repeat(64)}"}`).value.isvProdId, 2);
  const qeBad = JSON.stringify({ ...qeIdentityObject(), mrsigner: 'ZZ' });
  assert.throws(() => parseSignedQeIdentity(`{"enclaveIdentity":${qeBad},"signature":"${'11'.repeat(64)}"}`), { code: 'ERR_DCAP_COLLATERAL' });
});
