// Real-browser test for MQTT over WebSocket (issue 6).
//
// Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) loads page.html,
// which uses mqtt.js's browser bundle. Over ws:// (MQTT 5) and then wss:// (MQTT 3.1.1) the
// page subscribes, receives a message that a TCP device publishes with mosquitto_pub, and
// publishes back to a mosquitto_sub that was subscribed beforehand.
//
//   node ws_roundtrip.mjs /path/to/fieldgate      the registered test (ctest browser.ws_roundtrip)
//   node ws_roundtrip.mjs --broker mosquitto      the same test against Debian's mosquitto
//
// Exits 0 on success, 1 with a FAIL line otherwise. Writes browser-ws_roundtrip.png (the page
// with the messages it received) to the current directory.
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const OVERALL_MS = 60_000;
const STEP_MS = 10_000;
const SCREENSHOT = path.resolve('browser-ws_roundtrip.png');

const started = Date.now();
const say = (msg) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);

// Everything started here, torn down by cleanup() whatever happens.
const children = [];
let browser = null;
let page = null;
let webServer = null;
let tmp = null;
const brokerOutput = [];
const consoleErrors = [];
let failing = false;

async function cleanup() {
  if (browser) await withTimeout(browser.close(), 5000, 'closing chromium').catch(() => {});
  if (webServer) webServer.close();
  await Promise.all(children.map((c) => stop(c)));
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
}

async function fail(message) {
  if (failing) return;
  failing = true;
  console.error(`FAIL: ${message}`);
  if (consoleErrors.length) console.error(`--- page console errors ---\n${consoleErrors.join('\n')}`);
  if (brokerOutput.length) console.error(`--- broker output (last lines) ---\n${brokerOutput.slice(-40).join('\n')}`);
  if (page) await withTimeout(page.screenshot({ path: SCREENSHOT, fullPage: true }), 3000, 'screenshot').catch(() => {});
  await cleanup();
  process.exit(1);
}

setTimeout(() => fail(`overall time limit of ${OVERALL_MS / 1000}s reached`), OVERALL_MS);

// Resolves as promise does, or fails after ms; errors are prefixed with what was being done.
function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result within ${ms / 1000}s`)), ms);
  });
  return Promise.race([promise, timeout])
    .catch((e) => { throw new Error(`${what}: ${String(e.message).split('\n')[0]}`); })
    .finally(() => clearTimeout(timer));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A child process whose output is kept (as lines) and whose end can be awaited.
function start(name, cmd, args, sink = []) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.name = name;
  child.lines = sink;
  child.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', (e) => resolve({ code: null, signal: null, error: e }));
  });
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop();
      sink.push(...parts);
    });
    stream.on('end', () => rest && sink.push(rest));
  }
  children.push(child);
  return child;
}

const ended = (child) => child.exitCode !== null || child.signalCode !== null;
const how = (child) => (child.exitCode !== null ? `exit ${child.exitCode}` : `signal ${child.signalCode}`);

async function stop(child, graceMs = 3000) {
  if (ended(child)) return;
  child.kill('SIGTERM');
  try {
    await withTimeout(child.exited, graceMs, `${child.name} exit`);
  } catch {
    child.kill('SIGKILL');
    await withTimeout(child.exited, 2000, `${child.name} kill`).catch(() => {});
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, broker) {
  const deadline = Date.now() + STEP_MS;
  while (Date.now() < deadline) {
    if (ended(broker)) throw new Error(`${broker.name} ended (${how(broker)}) before listening on ${port}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${broker.name} is not listening on 127.0.0.1:${port} after ${STEP_MS / 1000}s`);
}

const run = (cmd, args) => execFileSync(cmd, args, { timeout: STEP_MS, stdio: ['ignore', 'pipe', 'pipe'] });

// A throwaway CA and a server certificate it signs, for 127.0.0.1 and localhost. spki is the
// base64 SHA-256 of the server's public key, which chromium is told to accept (and nothing else).
function makeCertificates(dir) {
  const f = (name) => path.join(dir, name);
  run('/usr/bin/openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '1', '-subj', '/CN=fieldgate browser test CA']);
  run('/usr/bin/openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost']);
  fs.writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  run('/usr/bin/openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'),
    '-CAcreateserial', '-days', '1', '-extfile', f('server.ext'), '-out', f('server.crt')]);
  const der = crypto.createPublicKey(fs.readFileSync(f('server.key'))).export({ type: 'spki', format: 'der' });
  return { cert: f('server.crt'), key: f('server.key'), spki: crypto.createHash('sha256').update(der).digest('base64') };
}

function startFieldgate(binary, ports, tls) {
  const state = path.join(tmp, 'state');
  fs.mkdirSync(state);
  const config = path.join(tmp, 'fieldgate.toml');
  fs.writeFileSync(config, `
[gateway]
name = "browser-test"
state_dir = "${state}"

[[listener]]
type = "mqtt"
bind = "127.0.0.1:${ports.mqtt}"

[[listener]]
type = "ws"
bind = "127.0.0.1:${ports.ws}"
path = "/mqtt"

[[listener]]
type = "wss"
bind = "127.0.0.1:${ports.wss}"
path = "/mqtt"
cert = "${tls.cert}"
key = "${tls.key}"

[http]
bind = "127.0.0.1:${ports.http}"

[persistence]
durability = "none"
`);
  return start('fieldgate', binary, ['-c', config], brokerOutput);
}

function startMosquitto(ports, tls) {
  const config = path.join(tmp, 'mosquitto.conf');
  fs.writeFileSync(config, [
    process.getuid() === 0 ? 'user root' : '',
    'allow_anonymous true',
    `listener ${ports.mqtt} 127.0.0.1`,
    `listener ${ports.ws} 127.0.0.1`, 'protocol websockets',
    `listener ${ports.wss} 127.0.0.1`, 'protocol websockets', `certfile ${tls.cert}`, `keyfile ${tls.key}`,
  ].join('\n') + '\n');
  return start('mosquitto', '/usr/sbin/mosquitto', ['-c', config], brokerOutput);
}

// Serves page.html and mqtt.js's browser bundle; nothing else.
function serveFiles() {
  const files = {
    '/': ['text/html', path.join(HERE, 'page.html')],
    '/mqtt.min.js': ['text/javascript', path.join(HERE, 'node_modules/mqtt/dist/mqtt.min.js')],
  };
  webServer = http.createServer((req, res) => {
    const file = files[req.url];
    if (!file) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': file[0] }).end(fs.readFileSync(file[1]));
  });
  return new Promise((resolve) => webServer.listen(0, '127.0.0.1', () => resolve(webServer.address().port)));
}

// One transport: the page subscribes, a TCP device publishes to it, the page publishes back.
async function roundTrip({ name, url, protocolVersion }, mqttPort) {
  const down = `fieldgate/browser/${name}/down`;
  const up = `fieldgate/browser/${name}/up`;
  const downPayload = `to the browser over ${name}: 21.5 °C #${process.pid}`;
  const upPayload = `from the browser over ${name}: ack ✓ #${process.pid}`;

  await withTimeout(page.evaluate(([u, v, t]) => window.fgConnectSubscribe(u, v, t), [url, protocolVersion, down]),
    STEP_MS, `${name}: connect to ${url} and subscribe`);
  say(`${name}: page connected to ${url} (protocol version ${protocolVersion}) and subscribed to ${down}`);

  const before = await page.evaluate(() => window.received.length);
  run('/usr/bin/mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mqttPort), '-q', '1', '-t', down, '-m', downPayload]);
  await page.waitForFunction((n) => window.received.length > n, before, { timeout: STEP_MS })
    .catch(() => { throw new Error(`${name}: the page received nothing within ${STEP_MS / 1000}s of mosquitto_pub`); });
  const got = (await page.evaluate(() => window.received)).slice(before);
  if (got.length !== 1 || got[0].topic !== down || got[0].payload !== downPayload) {
    throw new Error(`${name}: page expected one message ${JSON.stringify({ topic: down, payload: downPayload })}, got ${JSON.stringify(got)}`);
  }
  say(`${name}: page received the device's message: ${JSON.stringify(got[0].payload)}`);

  // -d prints the SUBACK (line-buffered through stdbuf), so the page publishes only once the device
  // listens; -F marks the payload line.
  const sub = start(`mosquitto_sub (${name})`, '/usr/bin/stdbuf', ['-oL', '/usr/bin/mosquitto_sub', '-h', '127.0.0.1', '-p', String(mqttPort),
    '-q', '1', '-t', up, '-C', '1', '-W', '10', '-d', '-F', 'PAYLOAD:%p']);
  const deadline = Date.now() + STEP_MS;
  while (!sub.lines.some((l) => l.includes('received SUBACK'))) {
    if (ended(sub) || Date.now() > deadline) {
      throw new Error(`${name}: mosquitto_sub did not subscribe: ${sub.lines.join(' | ')}`);
    }
    await sleep(50);
  }
  await withTimeout(page.evaluate(([t, p]) => window.fgPublish(t, p), [up, upPayload]), STEP_MS, `${name}: page publish`);
  const { code } = await withTimeout(sub.exited, 12_000, `${name}: mosquitto_sub`);
  const printed = sub.lines.filter((l) => l.startsWith('PAYLOAD:')).map((l) => l.slice('PAYLOAD:'.length));
  if (code !== 0 || printed.length !== 1 || printed[0] !== upPayload) {
    throw new Error(`${name}: mosquitto_sub (exit ${code}) expected ${JSON.stringify(upPayload)}, printed: ${sub.lines.join(' | ')}`);
  }
  say(`${name}: mosquitto_sub received the page's message: ${JSON.stringify(printed[0])}`);
  await withTimeout(page.evaluate(() => window.fgEnd()), STEP_MS, `${name}: disconnect`);
}

async function main() {
  const args = process.argv.slice(2);
  const mosquitto = args[0] === '--broker' && args[1] === 'mosquitto';
  if (!mosquitto && (args.length !== 1 || !fs.existsSync(args[0]))) {
    throw new Error(`usage: node ws_roundtrip.mjs FIELDGATE_BINARY | --broker mosquitto (got ${JSON.stringify(args)})`);
  }
  if (!fs.existsSync(path.join(HERE, 'node_modules/playwright-core')) ||
      !fs.existsSync(path.join(HERE, 'node_modules/mqtt/dist/mqtt.min.js'))) {
    throw new Error('tests/browser/node_modules is missing or incomplete: run `make deps` (scripts/install-node-deps.sh)');
  }
  for (const tool of [CHROMIUM, '/usr/bin/openssl', '/usr/bin/mosquitto_pub', '/usr/bin/mosquitto_sub']) {
    if (!fs.existsSync(tool)) throw new Error(`${tool} is missing: run \`make deps\``);
  }
  const { chromium } = await import('playwright-core');

  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fieldgate-browser-'));
  const tls = makeCertificates(tmp);
  const ports = { mqtt: await freePort(), ws: await freePort(), wss: await freePort(), http: await freePort() };
  const broker = mosquitto ? startMosquitto(ports, tls) : startFieldgate(args[0], ports, tls);
  for (const port of [ports.mqtt, ports.ws, ports.wss]) await waitForPort(port, broker);
  say(`${broker.name} listening: mqtt ${ports.mqtt}, ws ${ports.ws}, wss ${ports.wss}`);

  const webPort = await serveFiles();
  // The wss listener's certificate comes from the throwaway CA, which chromium does not know: it is
  // told to accept that one server key, so certificate checking stays on for anything else.
  browser = await withTimeout(chromium.launch({ executablePath: CHROMIUM, headless: true,
    args: [`--ignore-certificate-errors-spki-list=${tls.spki}`] }), STEP_MS, 'launching chromium');
  page = await browser.newPage({ viewport: { width: 1100, height: 300 } });
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.goto(`http://127.0.0.1:${webPort}/`, { timeout: STEP_MS });
  if (!(await page.evaluate(() => typeof window.mqtt?.connect === 'function'))) throw new Error('mqtt.js did not load in the page');
  say(`chromium ${browser.version()} loaded the page with mqtt.js`);

  await roundTrip({ name: 'ws', url: `ws://127.0.0.1:${ports.ws}/mqtt`, protocolVersion: 5 }, ports.mqtt);
  await roundTrip({ name: 'wss', url: `wss://127.0.0.1:${ports.wss}/mqtt`, protocolVersion: 4 }, ports.mqtt);

  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  if (consoleErrors.length) throw new Error('errors in the page console');
  if (ended(broker)) throw new Error(`${broker.name} ended (${how(broker)}) during the test`);
  // Like the integration tests: SIGTERM stops the broker with exit 0 (and the ASan build reports nothing).
  await stop(broker, 10_000);
  if (broker.exitCode !== 0) throw new Error(`${broker.name} ended with ${how(broker)} on SIGTERM (expected exit 0)`);
  say(`PASS: ws and wss round trips through ${broker.name}; screenshot ${SCREENSHOT}`);
  await cleanup();
  process.exit(0);
}

main().catch((e) => fail(e.message));
