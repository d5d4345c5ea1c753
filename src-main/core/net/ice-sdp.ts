// Runs in: Node. The compact ICE parameters of the sealed ConnectInfo (ufrag, pwd, DTLS
// fingerprint, candidates) to and from the SDP an ICE agent speaks (ice-punch.ts).
import type { IceCandidateInfo, IceCandidateType, IceParams } from './connect-info';

const TYPE_PREF: Record<IceCandidateType, number> = { host: 126, prflx: 110, srflx: 100, relay: 0 };

export function parseIceParams(sdp: string): Omit<IceParams, 'candidates'> & { candidates: IceCandidateInfo[] } {
  const line = (re: RegExp): string | undefined => sdp.match(re)?.[1]?.trim();
  const ufrag = line(/a=ice-ufrag:(\S+)/);
  const pwd = line(/a=ice-pwd:(\S+)/);
  const fp = line(/a=fingerprint:sha-256 ([0-9A-Fa-f:]+)/);
  if (!ufrag || !pwd || !fp) throw new Error('local SDP lacks ice-ufrag, ice-pwd or a sha-256 fingerprint');
  const fingerprint = Uint8Array.from(fp.split(':').map((h) => parseInt(h, 16)));
  const candidates: IceCandidateInfo[] = [];
  for (const m of sdp.matchAll(/a=candidate:\S+ 1 UDP \d+ (\S+) (\d+) typ (host|srflx|prflx|relay)/gi)) {
    candidates.push({ ip: m[1]!, port: Number(m[2]), type: m[3]!.toLowerCase() as IceCandidateType });
  }
  return { ufrag, pwd, fingerprint, candidates };
}

export function candidateLines(candidates: IceCandidateInfo[]): string[] {
  return candidates.map((c, i) => {
    const prio = (TYPE_PREF[c.type] << 24) + ((65535 - i) << 8) + 255;
    return `candidate:${i + 1} 1 UDP ${prio} ${c.ip} ${c.port} typ ${c.type}${c.type === 'host' ? '' : ' raddr 0.0.0.0 rport 0'}`;
  });
}

export function synthesizeSdp(p: IceParams, type: 'offer' | 'answer', endOfCandidates = true): string {
  const fp = Array.from(p.fingerprint, (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
  const cands = candidateLines(p.candidates).map((l) => `a=${l}`);
  return [
    'v=0',
    `o=- ${Date.now()} 0 IN IP4 0.0.0.0`,
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 0.0.0.0',
    'a=mid:0',
    'a=sendrecv',
    `a=ice-ufrag:${p.ufrag}`,
    `a=ice-pwd:${p.pwd}`,
    `a=fingerprint:sha-256 ${fp}`,
    // DTLS roles: the initiator is the client (active), the responder the server (passive). The
    // responder's ICE checks may succeed before the initiator has the answer (the ledger takes
    // seconds); as DTLS server it then just waits, where as client it would hand its hello to an
    // initiator that cannot verify it yet — which closes the initiator's peer connection.
    `a=setup:${type === 'offer' ? 'active' : 'passive'}`,
    'a=sctp-port:5000',
    'a=max-message-size:262144',
    ...cands,
    ...(endOfCandidates ? ['a=end-of-candidates'] : []),
    '',
  ].join('\r\n');
}

/** The candidates without repeats of one ip:port. */
export function dedupeCandidates(c: IceCandidateInfo[]): IceCandidateInfo[] {
  const seen = new Set<string>();
  return c.filter((x) => {
    const k = `${x.ip}:${x.port}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
