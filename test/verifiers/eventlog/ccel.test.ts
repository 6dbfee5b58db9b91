/**
 * CCEL parser and RTMR replay against testdata/eventlog: RTMR values from the README (replayed independently
 * there) and Trustee's golden `*_out.json` parses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRtmrs, parseEventLog, replay, TPM_ALG_SHA384 } from '../../../src/verifiers/eventlog/ccel.js';
import { uefiEventLogsClaim } from '../../../src/verifiers/eventlog/details.js';
import { readTestdata, testdataSkip } from '../../support/testdata.js';

const skip = testdataSkip('eventlog');
const Z = '00'.repeat(48);
const RTMRS: Record<string, [string, string, string, string]> = {
  CCEL_data: [
    '2dc712306a963eadb894ad47dbaa17df44814151555aee11cbb843becca88950ffd079664902e6f22c66f7c8213543f4',
    '0fa3be56af61208bbd179dc7b124988eb929319154663c539d6f46445ecac2fec287075047ff7bd1922829fec28cd3cf',
    Z,
    Z,
  ],
  CCEL_data_ovmf: [
    '8566f998798db09443b244c62de9a3041fb02e2e6936c4396d784bba2e90177329ec5aba3bb484404f2ab9cc90abe193',
    '775b9f6bfe99f8a31396f0d0218e67ffa796d3b96ccf961cbb0deba48c79c00f082cda1a5567c1c16305f1fc210c13c6',
    '94eaf7a7bf398ed8d888c91057ae0261802e4f3df084213a76ca7f0b5055ac9d2241de43cd58d9e8b49c503bbf25f34a',
    Z,
  ],
  CCEL_data_grub: [
    'cec0a104f691f60da2387fea3c2de00c4ac035e2bb479ff02edcce69039d9e9907f0b3e55031da3dc7038f423adebd79',
    '6c289e0c62182d41ebe97bdbc9872d10998a08eaa86adcdc684001a363207ee72942c7522cdf00a4bbc3d784bed7b670',
    '08919d017ba0e52cd6d966351c7de16fe76c1d3d3d3da4554239e4c7d16cb8b82a94e7eaea3a0e6e18eb690b999fd31e',
    Z,
  ],
  CCEL_data_gcp: [
    '3300980705adf09d28b707b79699d9874892164280832be2c386a715b6e204e0897fb564a064f810659207ba862b304f',
    '204d49f78d29918fe7b2f694e76653861a0c2a018987d2c3a54266eff737232524cf0af68c4d180e2f8c2c0937f21967',
    Z,
    Z,
  ],
  CCEL_data_grub_gke: [
    'bc9945139042cf2cc75caf920aa57f14884ecfd7e893bccc51250c8ce90eb53ce72741e6adaa18183eb1331a87d4544a',
    'c17cb288a4dee302bb9ed8d27257a168f3264ad68cab53757f37eeaa7039657fa887cad65cf910e0fdc435ff110f8a7b',
    '334aeba2c985f8886cea97d1ecffbd512769d528b9a94009583db667ad7d2faa7d37fa145d75b192ceee2d2f10b2eb6d',
    Z,
  ],
};

const bytes = (h: string) => Buffer.from(h, 'hex');

for (const [name, rtmrs] of Object.entries(RTMRS)) {
  test(`${name}: SHA-384 replay of indices 1..4 gives the README's RTMR0..3`, { skip }, () => {
    const log = parseEventLog(readTestdata('eventlog', name));
    const acc = replay(log, TPM_ALG_SHA384);
    for (let i = 0; i < 4; i++) assert.equal(Buffer.from(acc.get(i + 1) ?? new Uint8Array(48)).toString('hex'), rtmrs[i], `RTMR${i}`);
    checkRtmrs(log, rtmrs.map(bytes));
  });
}

test('CCEL_AAEL_alibabacloud: RTMR3 (AAEL events) replays to the README value', { skip }, () => {
  const acc = replay(parseEventLog(readTestdata('eventlog', 'CCEL_AAEL_alibabacloud')), TPM_ALG_SHA384);
  assert.equal(
    Buffer.from(acc.get(4)!).toString('hex'),
    '5e4ecd49d3c7983d6f9ca36755b5cee0b423d7fa8c5a88aeb0681bd4698772bc37b4463dc5f722efe352a66417257dad',
  );
});

test('RTMR mismatches are reported with the computed value (Trustee test_rtmr_integrity_error)', { skip }, () => {
  const gcp = parseEventLog(readTestdata('eventlog', 'CCEL_data_gcp'));
  const r = RTMRS.CCEL_data_gcp.map(bytes);
  r[0] = bytes(RTMRS.CCEL_data_gcp[0].slice(0, -1) + 'd');
  assert.throws(() => checkRtmrs(gcp, r), (e: Error & { code?: string }) => e.code === 'ERR_EVENTLOG_RTMR_MISMATCH' && e.message.endsWith('b304f'));
  const ccel = parseEventLog(readTestdata('eventlog', 'CCEL_data'));
  const r2 = RTMRS.CCEL_data.map(bytes);
  r2[1] = bytes('2' + RTMRS.CCEL_data[1].slice(1));
  assert.throws(() => checkRtmrs(ccel, r2), (e: Error) => e.message.includes('RTMR1') && e.message.includes('0fa3be56'));
});

for (const name of ['CCEL_data', 'CCEL_data_ovmf', 'CCEL_data_grub', 'CCEL_data_grub_gke', 'CCEL_AAEL_alibabacloud', 'CCEL_data_csv']) {
  test(`${name}: parse equals Trustee's golden ${name}_out.json`, { skip }, () => {
    const expected = JSON.parse(readTestdata('eventlog', `${name}_out.json`).toString('utf8')) as { uefi_event_logs: unknown[] };
    const got = uefiEventLogsClaim(parseEventLog(readTestdata('eventlog', name)));
    assert.equal(got.length, expected.uefi_event_logs.length);
    for (let i = 0; i < got.length; i++) assert.deepEqual(got[i], expected.uefi_event_logs[i], `event ${i}`);
  });
}

test('truncated or headerless logs are refused', { skip }, () => {
  const log = readTestdata('eventlog', 'CCEL_data_ovmf');
  assert.throws(() => parseEventLog(log.subarray(0, 20)), { code: 'ERR_EVENTLOG_FORMAT' });
  assert.throws(() => parseEventLog(Buffer.alloc(64, 0x41)), { code: 'ERR_EVENTLOG_FORMAT' });
  const full = parseEventLog(log);
  // Cut inside the third event: the parser must not invent a shorter event.
  let off = 0;
  const b = Buffer.from(log);
  off = b.indexOf(Buffer.from('TdxTable')) + 4;
  assert.throws(() => parseEventLog(b.subarray(0, off)), { code: 'ERR_EVENTLOG_FORMAT' });
  assert.ok(full.events.length > 3);
});
