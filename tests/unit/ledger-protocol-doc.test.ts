// docs/protocol.md states examples and constants; this keeps the document true to the code.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  decodeEnvelope,
  encodeEnvelope,
  MAX_ENVELOPE_CHARS,
  MAX_PAYLOAD_BYTES,
} from '../../src-main/core/ledger/envelope';
import { CATALOG, MESSAGE_TYPES, TYPE_CODES } from '../../src-main/core/ledger/messages';
import { MARKET_BASE, marketTopic } from '../../src-main/core/ledger/topics';
import { SAMPLE_MESSAGES } from '../fixtures/ledger-messages';

const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');

describe('docs/protocol.md', () => {
  it.each(MESSAGE_TYPES)('documents %s field by field with a decodable example', (type) => {
    const start = doc.indexOf(`### ${TYPE_CODES[type]} · ${type}\n`);
    expect(start).toBeGreaterThan(0);
    const section = doc.slice(
      start,
      doc.indexOf('\n### ', start + 5) > 0 ? doc.indexOf('\n### ', start + 5) : undefined,
    );
    const names = [...section.matchAll(/^\|\s*\d+\s*\|\s*`(\w+)`/gm)].map((m) => m[1]);
    expect(names).toEqual(CATALOG[type].map((f) => f.name));
    const example = section.match(/^(axon1:\S+)$/m)?.[1];
    expect(example).toBe(encodeEnvelope(SAMPLE_MESSAGES[type]));
    const r = decodeEnvelope(example!);
    expect(r.ok && r.message).toEqual(SAMPLE_MESSAGES[type]);
  });

  it('states the real limits and constants', async () => {
    expect(doc).toContain(`${MAX_PAYLOAD_BYTES} bytes of payload → at most ${MAX_ENVELOPE_CHARS} memo characters`);
    expect(doc).toContain(MARKET_BASE);
    expect(doc).toContain(`\`market("main")\` = \`${await marketTopic('main')}\``);
  });
});
