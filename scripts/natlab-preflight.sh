#!/bin/sh
# Checks (and with --install, installs) what the NAT lab needs: root, ip netns, nftables, coturn,
# python3 + /dev/net/tun (delays on kernels without netem). Exit 0 = `npm run test:natlab` can run.
# CI: `sudo scripts/natlab-preflight.sh --install && sudo npm run test:natlab`. See docs/natlab.md.
set -u
PACKAGES="iproute2 nftables coturn python3"
fail() { echo "natlab preflight: $*" >&2; exit 1; }

[ "$(uname -s)" = Linux ] || fail "the NAT lab needs Linux"
[ "$(id -u)" = 0 ] || fail "the NAT lab needs root (network namespaces, nftables)"

if [ "${1:-}" = "--install" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq $PACKAGES >/dev/null || fail "apt-get install $PACKAGES failed"
fi

for tool in ip nft turnserver turnutils_natdiscovery ss; do
  command -v "$tool" >/dev/null 2>&1 || fail "\`$tool\` not found: apt-get install -y $PACKAGES"
done

probe="natlab-preflight-$$"
ip netns add "$probe" 2>/dev/null || fail "cannot create a network namespace (ip netns add)"
ok=1
ip netns exec "$probe" nft list ruleset >/dev/null 2>&1 || ok=0
ip -n "$probe" link add name pf0 type veth peer name pf1 2>/dev/null || ok=0
ip -n "$probe" link add name pfbr type bridge 2>/dev/null || ok=0
netem=no
ip netns exec "$probe" tc qdisc add dev pf0 root netem delay 1ms 2>/dev/null && netem=yes
ip netns delete "$probe"
[ "$ok" = 1 ] || fail "namespaces work but nftables, veth or bridge does not"

if [ "$netem" = no ]; then
  if command -v python3 >/dev/null 2>&1 && [ -c /dev/net/tun ]; then
    echo "natlab preflight: no netem on this kernel; delays use the python3 TAP wire"
  else
    echo "natlab preflight: no netem and no python3 or /dev/net/tun: routers with delayMs will fail" >&2
  fi
fi
echo "natlab preflight: ok"
