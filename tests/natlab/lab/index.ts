// Runs in: Node 22, as root on Linux. The NAT lab harness: network namespaces, NAT routers,
// a STUN server, processes inside namespaces, and the result matrix. See docs/natlab.md.
export { NatLab } from './natlab';
export type {
  Availability,
  LabHost,
  LedgerServer,
  LanHost,
  PublicHost,
  Router,
  RouterOptions,
  StunServer,
} from './types';
export { expectedNat } from './expected';
export type { ExpectedNat } from './expected';
export { NAT_KINDS, NAT_KIND_DESCRIPTION, natRuleset } from './nat-rules';
export type { NatKind } from './nat-rules';
export { LabProcess } from './process';
export type { ProcessExit, SpawnOptions } from './process';
export { UdpPeer, UDP_PEER_SCRIPT } from './udp-peer';
export { printMatrix } from './matrix';
export type { MatrixResult, MatrixRow, NatVerdict } from './matrix';
export { NODE_BIN, REPO_ROOT, TSX_CLI } from './exec';
export { startMiniupnpd, flushMappings, miniupnpdConfig } from './miniupnpd';
