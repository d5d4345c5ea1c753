// Runs in: Node (Electron main, CLI, tests). The network half of AxonNode: a js-libp2p 3 node
// (TCP + WebRTC-Direct on one port, WebRTC/ICE punching, circuit relay v2, identify, ping,
// DCUtR, AutoNAT), address discovery (STUN + reflectors → NAT verdict), the connect ladder and
// per-peer path status. Depends on identity/ and store/ only; the market drives it and carries
// ConnectInfo over the ledger (sealed) through the Signaling interface or prepareConnect().
export { createNetNode } from './node';
export { encodeConnectInfo, decodeConnectInfo, ConnectInfoError, MAX_CONNECT_INFO_BYTES } from './connect-info';
export type { ConnectInfo, IceParams, IceCandidateInfo, NatMapping } from './connect-info';
export { createMemorySignalingPair } from './signaling';
export { combineObservations, type AddressObservation } from './nat-verdict';
export { stunBinding, stunMappingTest, type StunResult, type MappingTestResult } from './stun';
export { REFLECT_PROTOCOL, reflectViaPeer } from './reflector';
export {
  pickRoles,
  checkRelayHealth,
  relayAddrs,
  iceServers,
  reflectorStunUrl,
  autoRoleDecision,
  publicVerdict,
  type AutoRoleInput,
  type AutoRoleDecision,
  type RoleCandidate,
  type HealthResult,
  type IceServerInput,
} from './roles';
export { collectObservations, discoverAddress, udpResponder } from './discovery';
export { classifyConnection } from './status';
export { multiaddrIp } from './addresses';
export { PortMapper, defaultGatewayV4, type PortMapStatus, type PortMapProtocol } from './portmap';
export { ConnectionStore } from '../store/connections';
export type {
  NetNode,
  NetNodeOptions,
  NetRoles,
  RelayLimits,
  AnnounceFilterOptions,
  PathKind,
  PathInfo,
  PathChange,
  PeerStatus,
  Signaling,
  ConnectOptions,
  ConnectResult,
  ConnectSession,
  PrepareOptions,
  LadderTimeouts,
  AttemptRecord,
  AttemptMethod,
  AttemptOutcome,
  NatReport,
  NodeAnnounceBody,
  RoleMode,
  RoleState,
} from './types';
