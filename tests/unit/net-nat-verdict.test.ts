// The consensus combiner: observation sets → NAT verdict.
import { describe, expect, test } from 'vitest';
import { combineObservations, type AddressObservation } from '../../src-main/core/net/nat-verdict';

const LOCAL = { localIps: ['10.1.0.2', '127.0.0.1'] };
const udp = (
  source: string,
  observer: string,
  localPort: number,
  ip: string,
  port: number,
  extra: Partial<AddressObservation> = {},
): AddressObservation => ({
  source,
  observer,
  protocol: 'udp',
  localPort,
  observed: { ip, port },
  ...extra,
});

describe('combineObservations', () => {
  test('no observations: unknown, with a warning', () => {
    const r = combineObservations([], LOCAL);
    expect(r.mapping).toBe('unknown');
    expect(r.reachability).toBe('unknown');
    expect(r.confidence).toBe(0);
    expect(r.warnings[0]).toMatch(/no address observations/);
  });

  test('three reflectors see one IP and one port for one local port: endpoint-independent, punchable', () => {
    const r = combineObservations(
      [
        udp('reflector:r1', '198.18.1.2:3479', 5000, '198.18.9.2', 5000),
        udp('reflector:r2', '198.18.2.2:3479', 5000, '198.18.9.2', 5000),
        udp('reflector:r3', '198.18.3.2:3479', 5000, '198.18.9.2', 5000),
      ],
      LOCAL,
    );
    expect(r).toMatchObject({
      publicIp: '198.18.9.2',
      mapping: 'endpoint-independent',
      reachability: 'punchable',
      confidence: 1,
    });
    expect(r.sources).toEqual(['reflector:r1', 'reflector:r2', 'reflector:r3']);
    expect(r.warnings).toEqual([]);
  });

  test('differing observed ports for one local port: endpoint-dependent, relay-only', () => {
    const r = combineObservations(
      [udp('reflector:r1', 'a:1', 5000, '198.18.9.2', 40001), udp('reflector:r2', 'b:1', 5000, '198.18.9.2', 51234)],
      LOCAL,
    );
    expect(r.mapping).toBe('endpoint-dependent');
    expect(r.reachability).toBe('relay-only');
  });

  test('observed address equals a local address and port: no NAT, public', () => {
    const r = combineObservations(
      [udp('stun:s', 's:3478', 6000, '10.1.0.2', 6000), udp('reflector:r1', 'r:1', 6000, '10.1.0.2', 6000)],
      LOCAL,
    );
    expect(r).toMatchObject({ publicIp: '10.1.0.2', mapping: 'none', reachability: 'public' });
  });

  test('a TCP observation (unknown local port) does not spoil the no-NAT verdict', () => {
    const r = combineObservations(
      [
        udp('stun:s', 's:3478', 6000, '127.0.0.1', 6000),
        { source: 'reflector:r', protocol: 'tcp', localPort: -1, observed: { ip: '127.0.0.1', port: 41000 } },
      ],
      LOCAL,
    );
    expect(r.mapping).toBe('none');
  });

  test('the majority fixes the IP; a dissenting reflector yields a warning naming it', () => {
    const r = combineObservations(
      [
        udp('reflector:r1', 'a', 5000, '198.18.9.2', 5000),
        udp('reflector:r2', 'b', 5000, '198.18.9.2', 5000),
        udp('reflector:liar', 'c', 5000, '203.0.113.66', 5000),
      ],
      LOCAL,
    );
    expect(r.publicIp).toBe('198.18.9.2');
    expect(r.warnings.join(' ')).toMatch(/disagree.*203\.0\.113\.66.*reflector:liar/);
    expect(r.confidence).toBeCloseTo(0.67, 2);
    expect(r.mapping).toBe('endpoint-independent');
  });

  test('a tie between two IPs is reported as a guess', () => {
    const r = combineObservations(
      [udp('reflector:r1', 'a', 5000, '198.18.9.2', 5000), udp('reflector:r2', 'b', 5000, '198.18.7.2', 5000)],
      LOCAL,
    );
    expect(r.warnings.join(' ')).toMatch(/no majority/);
  });

  test('one observer only: the mapping cannot be told', () => {
    const r = combineObservations([udp('stun:s', 's:3478', 5000, '198.18.9.2', 5000)], LOCAL);
    expect(r.mapping).toBe('unknown');
    expect(r.reachability).toBe('unknown');
    expect(r.warnings.join(' ')).toMatch(/too few observers/);
  });

  test("a STUN server's own RFC 5780 verdict counts", () => {
    expect(
      combineObservations(
        [udp('stun:s', 's:3478', 5000, '198.18.9.2', 5000, { mappingTest: 'endpoint-independent' })],
        LOCAL,
      ).mapping,
    ).toBe('endpoint-independent');
    expect(
      combineObservations(
        [udp('stun:s', 's:3478', 5000, '198.18.9.2', 5000, { mappingTest: 'address-and-port-dependent' })],
        LOCAL,
      ).mapping,
    ).toBe('endpoint-dependent');
  });

  test('mixed evidence: endpoint-dependent wins, with a warning', () => {
    const r = combineObservations(
      [
        udp('reflector:r1', 'a', 5000, '198.18.9.2', 5000),
        udp('reflector:r2', 'b', 5000, '198.18.9.2', 5000),
        udp('stun:s', 's', 7000, '198.18.9.2', 7001),
        udp('stun:s2', 't', 7000, '198.18.9.2', 7002),
      ],
      LOCAL,
    );
    expect(r.mapping).toBe('endpoint-dependent');
    expect(r.warnings.join(' ')).toMatch(/some observers saw one port/);
  });

  test('the same observer seen twice from one port is not evidence of endpoint independence', () => {
    const r = combineObservations(
      [udp('stun:s', 's:3478', 5000, '198.18.9.2', 5000), udp('stun:s', 's:3478', 5000, '198.18.9.2', 5000)],
      LOCAL,
    );
    expect(r.mapping).toBe('unknown');
  });

  test('observed IP is local but ports were rewritten: warns and classifies the mapping', () => {
    const r = combineObservations(
      [udp('r:1', 'a', 5000, '10.1.0.2', 6000), udp('r:2', 'b', 5000, '10.1.0.2', 6001)],
      LOCAL,
    );
    expect(r.warnings.join(' ')).toMatch(/ports were rewritten/);
    expect(r.mapping).toBe('endpoint-dependent');
  });

  test('confidence grows with the number of agreeing sources', () => {
    const one = combineObservations([udp('r:1', 'a', 5000, '198.18.9.2', 5000)], LOCAL).confidence;
    const two = combineObservations(
      [udp('r:1', 'a', 5000, '198.18.9.2', 5000), udp('r:2', 'b', 5000, '198.18.9.2', 5000)],
      LOCAL,
    ).confidence;
    expect(two).toBeGreaterThan(one);
  });

  test('UDP servers silent while a reflector answered over TCP: udp-blocked, relay only, with the reason', () => {
    const tcp: AddressObservation = {
      source: 'reflector:r1',
      observer: '/ip4/198.18.1.2/tcp/4001/p2p/x',
      protocol: 'tcp',
      localPort: -1,
      observed: { ip: '198.18.9.2', port: 40123 },
    };
    const r = combineObservations([tcp], { ...LOCAL, udpAsked: 2 });
    expect(r).toMatchObject({ mapping: 'udp-blocked', reachability: 'relay-only', publicIp: '198.18.9.2' });
    expect(r.warnings.join(' ')).toMatch(/outbound UDP is blocked/);
    // the same TCP answer with no UDP server asked says nothing about UDP
    expect(combineObservations([tcp], LOCAL).mapping).toBe('unknown');
    // one UDP answer is enough to know UDP works
    expect(
      combineObservations([tcp, udp('reflector:r1', '198.18.1.2:3479', 5000, '198.18.9.2', 5000)], {
        ...LOCAL,
        udpAsked: 2,
      }).mapping,
    ).not.toBe('udp-blocked');
  });

  test("a reflector's filtering test: the most permissive result counts; a one-IP bound says so", () => {
    const base = [
      udp('reflector:r1', '198.18.1.2:3478', 5000, '198.18.9.2', 5000),
      udp('reflector:r1', '198.18.1.2:3479', 5000, '198.18.9.2', 5000),
    ];
    const full = combineObservations(
      [
        ...base,
        udp('reflector:r1', '198.18.1.2:3478', 6000, '198.18.9.2', 6000, { filteringTest: 'endpoint-independent' }),
      ],
      LOCAL,
    );
    expect(full).toMatchObject({ mapping: 'endpoint-independent', filtering: 'endpoint-independent' });
    const bound = combineObservations(
      [
        ...base,
        udp('reflector:r1', '198.18.1.2:3478', 6000, '198.18.9.2', 6000, {
          filteringTest: 'address-dependent',
          filteringBound: true,
        }),
      ],
      LOCAL,
    );
    expect(bound.filtering).toBe('address-dependent');
    expect(bound.warnings.join(' ')).toMatch(/needs a reflector with two IPs/);
    const restricted = combineObservations(
      [
        ...base,
        udp('reflector:r1', '198.18.1.2:3478', 6000, '198.18.9.2', 6000, {
          filteringTest: 'address-and-port-dependent',
        }),
      ],
      LOCAL,
    );
    expect(restricted.filtering).toBe('address-and-port-dependent');
  });
});
