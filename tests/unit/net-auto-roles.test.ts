// The 'auto' role rule (net/roles.ts autoRoleDecision): what a node with default settings serves.
import { describe, expect, test } from 'vitest';
import { autoRoleDecision } from '../../src-main/core/net/roles';

const PUBLIC_IF = ['198.51.100.7'];
const HOME_IF = ['192.168.1.20'];
const publicReport = { publicIp: '198.51.100.7', mapping: 'none', reachability: 'public', sources: ['r1', 'r2'] };
const natReport = {
  publicIp: '203.0.113.9',
  mapping: 'endpoint-independent',
  reachability: 'nat',
  filtering: 'address-and-port-dependent',
  sources: ['r1', 'r2'],
};

describe('autoRoleDecision', () => {
  test('a public verdict serves both roles once a dial confirmed it, none before', () => {
    expect(
      autoRoleDecision({ report: publicReport, listenIps: PUBLIC_IF, confirmed: true, reflectorsKnown: 2 }),
    ).toMatchObject({ relay: true, reflector: true });
    expect(
      autoRoleDecision({ report: publicReport, listenIps: PUBLIC_IF, confirmed: false, reflectorsKnown: 2 }),
    ).toMatchObject({ relay: false, reflector: false, reason: expect.stringMatching(/waiting for a dial-back/) });
  });

  test('a verdict behind a NAT serves nothing, whatever the interface says', () => {
    expect(
      autoRoleDecision({ report: natReport, listenIps: PUBLIC_IF, confirmed: true, reflectorsKnown: 2 }),
    ).toMatchObject({ relay: false, reflector: false, reason: expect.stringMatching(/not publicly reachable/) });
  });

  test('the first node of a network (public interface, nobody to ask) is reflector, relay once dialed', () => {
    expect(autoRoleDecision({ listenIps: PUBLIC_IF, confirmed: false, reflectorsKnown: 0 })).toMatchObject({
      relay: false,
      reflector: true,
    });
    expect(autoRoleDecision({ listenIps: PUBLIC_IF, confirmed: true, reflectorsKnown: 0 })).toMatchObject({
      relay: true,
      reflector: true,
    });
  });

  test('a reflector that appears before our verdict exists does not switch the roles off', () => {
    // seen in the NAT lab: a second public node took the roles, the first then knew one reflector
    // but had no verdict yet, dropped its own roles, and every home was left without any
    expect(autoRoleDecision({ listenIps: PUBLIC_IF, confirmed: true, reflectorsKnown: 1 })).toMatchObject({
      relay: true,
      reflector: true,
      reason: expect.stringMatching(/no verdict yet/),
    });
    expect(autoRoleDecision({ listenIps: PUBLIC_IF, confirmed: false, reflectorsKnown: 1 })).toMatchObject({
      relay: false,
      reflector: true,
    });
  });

  test('a home address with no verdict serves nothing', () => {
    expect(autoRoleDecision({ listenIps: HOME_IF, confirmed: true, reflectorsKnown: 0 })).toMatchObject({
      relay: false,
      reflector: false,
    });
  });
});
