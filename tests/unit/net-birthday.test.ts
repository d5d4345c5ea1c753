// Birthday probing on the ladder (issue 15 §2, docs/net.md "Birthday probing"): which NAT pairs
// switch the punch to birthday probing, who is the hard and who the easy side, that both sides
// derive the same key from the two sealed passwords; and the DTLS certificate every ICE agent of a
// session shares, checked against what node-datachannel itself announces for it.
import { PeerConnection } from 'node-datachannel';
import { describe, expect, test } from 'vitest';
import type { ConnectInfo, IceParams } from '../../src-main/core/net/connect-info';
import {
  birthdayPlan,
  DEFAULT_BIRTHDAY_BUDGET,
  furtherBirthdayRound,
  MAX_BIRTHDAY_ROUNDS,
} from '../../src-main/core/net/ladder-birthday';
import { createDtlsCertificate } from '../../src-main/core/net/dtls-cert';
import { parseIceParams } from '../../src-main/core/net/ice-sdp';
import { IceAgentError, portFree } from '../../src-main/core/net/ice-ports';
import { createSocket } from 'node:dgram';

type Nat = ConnectInfo['nat'];
const eim: Nat = { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent', publicIp: '198.18.2.2' };
const fullCone: Nat = { mapping: 'endpoint-independent', filtering: 'endpoint-independent', publicIp: '198.18.2.2' };
const edm: Nat = { mapping: 'endpoint-dependent', filtering: 'address-and-port-dependent', publicIp: '198.18.3.2' };
const ice = (pwd: string, srflx?: string): IceParams => ({
  ufrag: 'abcd',
  pwd,
  fingerprint: new Uint8Array(32),
  candidates: [
    { type: 'host', ip: '10.1.0.2', port: 40000 },
    ...(srflx ? [{ type: 'srflx' as const, ip: srflx, port: 40001 }] : []),
  ],
});

describe('birthdayPlan', () => {
  test('EIM (port-restricted) ↔ EDM: the EDM side opens sockets towards the srflx port, the EIM side probes from its agent’s port', () => {
    const easyIce = ice('easy-password-0123456789', '198.18.2.2');
    const hardIce = ice('hard-password-0123456789', '198.18.3.2');
    // the buyer (initiator) is the hard side, the seller (responder) the easy one
    const atHard = birthdayPlan('initiator', { nat: edm, ice: hardIce, localPort: 50000 }, { nat: eim, ice: easyIce });
    const atEasy = birthdayPlan('responder', { nat: eim, ice: easyIce, localPort: 40000 }, { nat: edm, ice: hardIce });
    expect(atHard && 'plan' in atHard && atHard.plan).toMatchObject({
      role: 'hard',
      peerIp: '198.18.2.2',
      peerPort: 40001,
      sockets: DEFAULT_BIRTHDAY_BUDGET.sockets,
    });
    expect(atEasy && 'plan' in atEasy && atEasy.plan).toMatchObject({
      role: 'easy',
      peerIp: '198.18.3.2',
      localPort: 40000,
      ratePerSec: 200,
      maxProbes: 2000,
    });
    // the same key on both sides, and it depends on both passwords
    const k1 = atHard && 'plan' in atHard ? Buffer.from(atHard.plan.key) : undefined;
    const k2 = atEasy && 'plan' in atEasy ? Buffer.from(atEasy.plan.key) : undefined;
    expect(k1?.equals(k2!)).toBe(true);
    const other = birthdayPlan(
      'initiator',
      { nat: edm, ice: ice('another-password-0123456'), localPort: 1 },
      { nat: eim, ice: easyIce },
    );
    expect(Buffer.from((other as { plan: { key: Uint8Array } }).plan.key).equals(k1!)).toBe(false);
  });

  test('pairs a plain punch serves, or none can, get no birthday round: EDM↔EDM stays relayed', () => {
    const a = ice('a-password-0123456789012', '198.18.2.2');
    const b = ice('b-password-0123456789012', '198.18.3.2');
    expect(birthdayPlan('initiator', { nat: edm, ice: a, localPort: 1 }, { nat: edm, ice: b })).toBeUndefined();
    expect(birthdayPlan('initiator', { nat: eim, ice: a, localPort: 1 }, { nat: eim, ice: b })).toBeUndefined();
    // full cone ↔ EDM punches with plain ICE
    expect(birthdayPlan('initiator', { nat: fullCone, ice: a, localPort: 1 }, { nat: edm, ice: b })).toBeUndefined();
    expect(birthdayPlan('initiator', { nat: undefined, ice: a, localPort: 1 }, { nat: edm, ice: b })).toBeUndefined();
  });

  test('an EIM side without a public srflx candidate: the reason, not a round that cannot work', () => {
    const r = birthdayPlan(
      'responder',
      { nat: edm, ice: ice('a-password-0123456789012', '198.18.3.2'), localPort: 1 },
      { nat: eim, ice: ice('b-password-0123456789012') },
    );
    expect(r).toEqual({ why: expect.stringMatching(/no public server-reflexive candidate/) });
  });
});

describe('a further birthday round after a miss', () => {
  const missed = { role: 'initiator' as const, missed: true, rounds: 1, signaling: true, aborted: false };

  test('the initiator starts ONE further round when the first found no pair, over signaling, while the session lives', () => {
    expect(MAX_BIRTHDAY_ROUNDS).toBe(2);
    expect(furtherBirthdayRound(missed)).toBe(true);
    // never a third
    expect(furtherBirthdayRound({ ...missed, rounds: 2 })).toBe(false);
    // a pair found whose ICE failed is not a miss of the probing
    expect(furtherBirthdayRound({ ...missed, missed: false })).toBe(false);
    // the responder only answers (both starting would cross)
    expect(furtherBirthdayRound({ ...missed, role: 'responder' })).toBe(false);
    // no channel to offer it on, or the session is over
    expect(furtherBirthdayRound({ ...missed, signaling: false })).toBe(false);
    expect(furtherBirthdayRound({ ...missed, aborted: true })).toBe(false);
  });

  test('both sides call the further round a birthday round from its two fresh sealed infos, with roles and a new key', () => {
    // round 1 (request/accept) and round 2 (PunchSync offer/answer): fresh passwords, fresh ports
    const r1 = {
      ini: ice('hard-password-round1-0123', '198.18.3.2'),
      res: ice('easy-password-round1-0123', '198.18.2.2'),
    };
    const r2 = {
      ini: { ...ice('hard-password-round2-4567', '198.18.3.2'), ufrag: 'efgh' },
      res: { ...ice('easy-password-round2-4567', '198.18.2.2'), ufrag: 'ijkl' },
    };
    const plans = (r: typeof r1) => ({
      atIni: birthdayPlan('initiator', { nat: edm, ice: r.ini, localPort: 50000 }, { nat: eim, ice: r.res }),
      atRes: birthdayPlan('responder', { nat: eim, ice: r.res, localPort: 40000 }, { nat: edm, ice: r.ini }),
    });
    const p1 = plans(r1);
    const p2 = plans(r2);
    const plan = (p: ReturnType<typeof birthdayPlan>) => (p && 'plan' in p ? p.plan : undefined);
    expect(plan(p2.atIni)?.role).toBe('hard');
    expect(plan(p2.atRes)?.role).toBe('easy');
    expect(Buffer.from(plan(p2.atIni)!.key).equals(Buffer.from(plan(p2.atRes)!.key))).toBe(true);
    // a probe of round 1 (still in flight) never counts in round 2
    expect(Buffer.from(plan(p2.atIni)!.key).equals(Buffer.from(plan(p1.atIni)!.key))).toBe(false);
    // a round whose fresh verdicts no longer fit (the EDM side now EIM) is no birthday round on either side
    expect(
      birthdayPlan('initiator', { nat: eim, ice: r2.ini, localPort: 1 }, { nat: eim, ice: r2.res }),
    ).toBeUndefined();
    expect(
      birthdayPlan('responder', { nat: eim, ice: r2.res, localPort: 1 }, { nat: eim, ice: r2.ini }),
    ).toBeUndefined();
  });
});

describe('the session’s DTLS certificate', () => {
  test('node-datachannel announces our fingerprint for every agent that gets it', async () => {
    const cert = createDtlsCertificate();
    const seen: Uint8Array[] = [];
    for (let i = 0; i < 2; i++) {
      const pc = new PeerConnection(`cert${i}`, {
        iceServers: [],
        certificatePemFile: cert.certPem,
        keyPemFile: cert.keyPem,
      });
      const sdp = await new Promise<string>((resolve) => {
        pc.onLocalDescription((s) => resolve(s));
        pc.createDataChannel('x');
      });
      seen.push(parseIceParams(sdp).fingerprint);
      pc.close();
    }
    for (const fp of seen) expect(Buffer.from(fp).equals(Buffer.from(cert.fingerprint))).toBe(true);
    // another session, another certificate
    expect(Buffer.from(createDtlsCertificate().fingerprint).equals(Buffer.from(cert.fingerprint))).toBe(false);
  });
});

describe('the birthday pair’s port before libdatachannel binds it', () => {
  // node-datachannel 0.33 does not guard the call that binds it: a taken port ends the process
  // (std::terminate, "Failed to gather local ICE candidates"); checked first, it is the round's failure
  test('a port still taken after the grace second is an IceAgentError naming it; a freed one is fine', async () => {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, () => r()));
    const { port } = sock.address();
    const err = await portFree(port).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IceAgentError);
    expect((err as Error).message).toMatch(new RegExp(`the ICE agent could not be made: port ${port}: .*EADDRINUSE`));
    // freed while the check waits (the probe sockets close just before the agent is made)
    const again = portFree(port);
    setTimeout(() => sock.close(), 200);
    await expect(again).resolves.toBeUndefined();
  });
});
