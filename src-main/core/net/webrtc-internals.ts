// Runs in: Node. Two building blocks of @libp2p/webrtc that its package does not export: the
// RTCPeerConnection → MultiaddrConnection adapter and the data-channel stream muxer. The ICE
// punch (ice-punch.ts) uses them to turn a peer connection negotiated over OUR signaling (sealed
// ledger messages) into a libp2p connection, exactly as @libp2p/webrtc's private-to-private
// transport does after its relay-borne signaling. Pinned to @libp2p/webrtc 6.x's dist layout.
export { toMultiaddrConnection } from '../../../node_modules/@libp2p/webrtc/dist/src/rtcpeerconnection-to-conn.js';
export { DataChannelMuxerFactory } from '../../../node_modules/@libp2p/webrtc/dist/src/muxer.js';
