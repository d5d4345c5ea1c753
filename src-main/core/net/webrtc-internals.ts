// Runs in: Node. Two building blocks of @libp2p/webrtc that its package does not export: the
// RTCPeerConnection → MultiaddrConnection adapter and the data-channel stream muxer. The ICE
// punch (ice-punch.ts) uses them to turn a peer connection negotiated over OUR signaling (sealed
// ledger messages) into a libp2p connection, exactly as @libp2p/webrtc's private-to-private
// transport does after its relay-borne signaling. patches/@libp2p+webrtc+6.0.33.patch adds the
// two subpaths to the package's "exports" (the package is pinned to that exact version; the
// patch is applied by `npm install`, docs/architecture.md "Patched packages").
export { toMultiaddrConnection } from '@libp2p/webrtc/rtcpeerconnection-to-conn';
export { DataChannelMuxerFactory } from '@libp2p/webrtc/muxer';
