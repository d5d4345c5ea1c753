// Runs in: Node (Electron main, CLI, tests). The market layer: listings, purchase and sale state
// machines, the stream protocol /axon/stream/1.0.0, sources (seller) and sinks (buyer).
// Depends on net, ledger, identity and store; AxonNode (../node.ts) wires it. See docs/market.md.
export { Market, type MarketOptions, type MarketStatus } from './market';
export { SellOptionsSchema, type SellOptions } from './offers';
export { DEFAULT_TIMING, MarketError } from './types';
export * from './pricing';
export type { BuyOptions, MarketEvents, MarketNet, MarketTiming } from './types';
export { STREAM_PROTOCOL, MAX_FRAME_BYTES, FrameDecoder, FrameError } from './frames';
export { StreamHub } from './hub';
export { StreamServer, type Authorize, type StreamGrant } from './stream-server';
export { openStream, StreamSession, StreamRefusedError, type ReceivedFrame, type SessionEnd } from './stream-client';
export { PREVIEW_PROTOCOL, PREVIEW_LIMITS, PreviewError, PreviewServer, fetchPreview, type Preview } from './preview';
export {
  SourceConfigSchema,
  SourceSupervisor,
  createSource,
  parseSourceSpec,
  type SourceConfig,
  type SourceHealth,
} from './sources/index';
export { FileSink } from './sinks/file';
export { LocalEndpoint } from './sinks/local-endpoint';
export type { FrameRecord, FrameMeta } from './sinks/record';
