// Real networks for browser tests: two "home" network namespaces whose pages cannot reach
// each other (the test's own namespace, where the relay runs, does not forward between
// them), a real TURN server (coturn) both can reach, and Chromium started inside a home.
// Needs root inside run-e2e.sh's private namespace (ROLLGYM_E2E_NETNS), iproute2 and coturn
// (scripts/setup.sh installs it as root); `ROUTING` says why not otherwise.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, pollUntil } from './harness.mjs';

const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
const forwarding = () => {
  try {
    return readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() !== '0';
  } catch {
    return true;
  }
};

/** `false` when the topology can be built here, else why not (a test's skip reason). */
export const ROUTING =
  process.getuid?.() !== 0 ? 'needs root (run-e2e.sh as root builds network namespaces)'
    : !process.env.ROLLGYM_E2E_NETNS ? 'needs run-e2e.sh\'s private network namespace'
      : !has('ip') ? 'needs iproute2'
        : !has('turnserver') ? 'needs coturn (scripts/setup.sh installs it as root)'
          : forwarding() ? 'the test namespace forwards between interfaces'
            : false;

const ip = (...args) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

/**
 * Two homes, `a` (10.9.1.2, its way out 10.9.1.1) and `b` (10.9.2.2 via 10.9.2.1), each a
 * namespace joined to this one by a veth pair. This namespace does not forward, so a packet
 * from one home to the other arrives nowhere; both reach this namespace's addresses.
 */
export function createHomes() {
  const base = process.env.ROLLGYM_E2E_NETNS;
  const homes = {};
  for (const [name, subnet] of [['a', 1], ['b', 2]]) {
    const ns = `${base}-${name}`;
    const outside = `rg${name}${process.pid}`.slice(0, 15);
    const inside = `rh${name}${process.pid}`.slice(0, 15);
    ip('netns', 'add', ns);
    ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
    ip('link', 'set', inside, 'netns', ns);
    ip('addr', 'add', `10.9.${subnet}.1/24`, 'dev', outside);
    ip('link', 'set', outside, 'up');
    ip('netns', 'exec', ns, 'ip', 'addr', 'add', `10.9.${subnet}.2/24`, 'dev', inside);
    ip('netns', 'exec', ns, 'ip', 'link', 'set', inside, 'up');
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
    ip('netns', 'exec', ns, 'ip', 'route', 'add', 'default', 'via', `10.9.${subnet}.1`);
    homes[name] = { ns, gateway: `10.9.${subnet}.1`, address: `10.9.${subnet}.2` };
  }
  return {
    ...homes,
    /** Deleting a namespace deletes its end of the veth pair, and with it the other end. */
    remove() {
      for (const home of [homes.a, homes.b]) spawnSync('ip', ['netns', 'delete', home.ns]);
    },
  };
}

/** Chromium running inside namespace `ns` (Playwright's pipe survives `ip netns exec`). */
export async function launchBrowserIn(ns) {
  const dir = mkdtempSync(path.join(tmpdir(), 'rollgym-chromium-'));
  const wrapper = path.join(dir, 'chromium');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} /usr/bin/chromium "$@"\n`);
  chmodSync(wrapper, 0o755);
  const browser = await chromium.launch({ executablePath: wrapper, args: CHROMIUM_ARGS });
  browser.once('disconnected', () => rmSync(dir, { recursive: true, force: true }));
  return browser;
}

/** Whether a STUN binding request to `host:port` is answered within 500 ms. */
function stunAnswers(host, port) {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const request = Buffer.alloc(20);
    request.writeUInt16BE(0x0001, 0); // binding request, no attributes
    request.writeUInt32BE(0x2112a442, 4);
    for (let i = 8; i < 20; i++) request[i] = i;
    const done = (answered) => {
      clearTimeout(timer);
      socket.close();
      resolve(answered);
    };
    const timer = setTimeout(() => done(false), 500);
    socket.once('message', (msg) => done(msg.readUInt16BE(0) === 0x0101));
    socket.once('error', () => done(false));
    socket.send(request, port, host);
  });
}

/**
 * coturn on `addresses` (port 3478) taking time-limited credentials signed with `secret`
 * (`use-auth-secret`), relaying only between the test's private addresses; resolves once it
 * answers STUN on every address. `stop()` ends it by its PID.
 */
export async function startTurn({ addresses, secret, name = 'turn' }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'rollgym-turn-'));
  const config = [
    'listening-port=3478',
    ...addresses.flatMap((a) => [`listening-ip=${a}`, `relay-ip=${a}`]),
    'min-port=49160',
    'max-port=49400',
    'fingerprint',
    'use-auth-secret',
    `static-auth-secret=${secret}`,
    'realm=rollgym.test',
    'no-tls',
    'no-dtls',
    'no-cli',
    'allowed-peer-ip=10.9.0.0-10.9.255.255',
    `pidfile=${path.join(dir, 'turn.pid')}`,
    `userdb=${path.join(dir, 'turndb')}`,
    'log-file=stdout',
    'simple-log',
  ];
  const file = path.join(dir, 'turnserver.conf');
  writeFileSync(file, `${config.join('\n')}\n`);
  const child = spawn('turnserver', ['-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (chunk) => (log += chunk));
  child.stderr.on('data', (chunk) => (log += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  for (const address of addresses) {
    await pollUntil(
      async () => child.exitCode === null && (await stunAnswers(address, 3478)),
      () => `${name} answering STUN on ${address}:3478 (exit ${child.exitCode}); its log:\n${log.slice(-2000)}`,
    );
  }
  return {
    log: () => log,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
