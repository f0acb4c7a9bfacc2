import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { notify } from '../../activities/notify/notify';
import type { NotificationEvent } from '../../activities/notify/event';
import type { NotifyTarget } from '../../activities/notify/targets';
import { createCatalogActivities } from '../../activities/catalog-activities';
import type { Catalog } from '../../activities/catalog/catalog';
import { startHttpReceiver, startSmtpSink, startTcpSyslog, startUdpSyslog } from './receivers';
import type { HttpReceiver, SmtpSink, SyslogReceiver } from './receivers';

const event: NotificationEvent = {
  kind: 'drill-result',
  severity: 'error',
  title: 'DR drill of repo-7 missed its RTO — ünïcode',
  summary: 'Restore took 42 s (objective 30 s).\n.A line starting with a dot\nand "quotes" ] brackets',
  time: '2026-06-01T12:00:00.000Z',
  repoId: 'repo-7',
  workflowId: 'drill/repo-7/2026-06-01',
  details: { rtoMs: 42_000, objectiveRtoMs: 30_000, passed: false },
};

let http: HttpReceiver;
let slack: HttpReceiver;
let smtp: SmtpSink;
let udp: SyslogReceiver;
let tcp: SyslogReceiver;
before(async () => {
  [http, slack, smtp, udp, tcp] = await Promise.all([startHttpReceiver(), startHttpReceiver(), startSmtpSink(), startUdpSyslog(), startTcpSyslog()]);
});
after(async () => {
  await Promise.all([http.close(), slack.close(), smtp.close(), udp.close(), tcp.close()]);
});

function allTargets(): NotifyTarget[] {
  return [
    { type: 'webhook', url: `${http.url}/hooks/coffer?token=s3cret`, headers: { authorization: 'Bearer hook-token' } },
    { type: 'slack', url: `${slack.url}/services/T000/B000/XXXX` },
    { type: 'email', host: '127.0.0.1', port: smtp.port, from: 'coffer@example.test', to: ['ops@example.test', 'oncall@example.test'], auth: { user: 'coffer', pass: 'mail-pass' } },
    { type: 'syslog', host: '127.0.0.1', port: udp.port, protocol: 'udp', facility: 16, hostname: 'worker-1' },
    { type: 'syslog', host: '127.0.0.1', port: tcp.port, protocol: 'tcp', appName: 'coffer-worker' },
  ];
}

void test('each notification target receives the message', async () => {
  const results = await notify(event, allTargets(), { timeoutMs: 5_000 });
  assert.deepEqual(results.map((r) => [r.type, r.ok, r.error?.message]), [
    ['webhook', true, undefined], ['slack', true, undefined], ['email', true, undefined], ['syslog', true, undefined], ['syslog', true, undefined],
  ]);
  for (const r of results) assert.ok(!r.target.includes('s3cret') && !r.target.includes('XXXX') && !r.target.includes('mail-pass'), `secret in ${r.target}`);

  // Generic webhook: POST of the event as JSON, with the configured headers.
  const hook = await http.next();
  assert.equal(hook.method, 'POST');
  assert.equal(hook.url, '/hooks/coffer?token=s3cret');
  assert.equal(hook.headers['content-type'], 'application/json');
  assert.equal(hook.headers.authorization, 'Bearer hook-token');
  assert.deepEqual(JSON.parse(hook.body), { source: 'coffer', ...event });

  // Slack-compatible: { text, blocks }.
  const chat = JSON.parse((await slack.next()).body) as { text: string; blocks: Array<{ type: string; text?: { text: string }; fields?: Array<{ text: string }> }> };
  assert.match(chat.text, /DR drill of repo-7 missed its RTO/);
  assert.equal(chat.blocks[0]?.type, 'header');
  assert.equal(chat.blocks[1]?.text?.text, event.summary);
  assert.ok(chat.blocks[2]?.fields?.some((f) => f.text === '*rtoMs:* 42000'));

  // E-mail: the SMTP conversation and the message.
  const mail = await smtp.next();
  assert.equal(mail.helo, 'coffer');
  assert.equal(mail.from, 'coffer@example.test');
  assert.deepEqual(mail.to, ['ops@example.test', 'oncall@example.test']);
  assert.equal(mail.auth, '\0coffer\0mail-pass');
  assert.deepEqual(mail.commands.map((c) => c.split(/[ :]/)[0]), ['EHLO', 'AUTH', 'MAIL', 'RCPT', 'RCPT', 'DATA']);
  const [headerBlock, bodyBlock] = mail.data.split('\r\n\r\n');
  assert.match(headerBlock, /^Subject: =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/m);
  const subjectWord = /^Subject: =\?UTF-8\?B\?([A-Za-z0-9+/=]+)\?=$/m.exec(headerBlock)![1];
  assert.equal(Buffer.from(subjectWord, 'base64').toString('utf8'), `[coffer] ${event.title}`);
  assert.match(headerBlock, /^To: ops@example.test, oncall@example.test$/m);
  assert.match(headerBlock, /^Content-Transfer-Encoding: base64$/m);
  const text = Buffer.from(bodyBlock.replace(/\r\n/g, ''), 'base64').toString('utf8');
  assert.match(text, /^\[ERROR\] DR drill of repo-7/);
  assert.match(text, /\r\n\.A line starting with a dot\r\n/);
  assert.match(text, /workflow: drill\/repo-7\/2026-06-01/);
  assert.match(text, /rtoMs: 42000/);

  // Syslog over UDP: RFC 5424 with PRI = local0 (16) * 8 + err (3) = 131.
  const datagram = await udp.next();
  assert.match(datagram, /^<131>1 2026-06-01T12:00:00\.000Z worker-1 coffer \d+ drill-result \[coffer@32473 kind="drill-result" repo="repo-7" workflow="drill\/repo-7\/2026-06-01" rtoMs="42000" objectiveRtoMs="30000" passed="false"\] DR drill/);
  assert.ok(datagram.includes('and \\"quotes\\" \\] brackets') === false, 'the MSG part is not SD-escaped');
  assert.ok(datagram.endsWith('and "quotes" ] brackets'));
  // Syslog over TCP with octet counting: user facility (1) * 8 + 3 = 11.
  const framed = await tcp.next();
  assert.match(framed, /^<11>1 \S+ \S+ coffer-worker \d+ drill-result \[coffer@32473 /);
});

void test('one failing target does not lose the others: HTTP 500, refused port, refused recipient, timeout', async () => {
  const closedPort = await new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
  const hanging = await startHttpReceiver();
  hanging.status = 'hang';
  http.status = 500;
  smtp.rcptReply = 550;
  try {
    const started = Date.now();
    const results = await notify(event, [
      { type: 'webhook', url: `${http.url}/fails` },
      { type: 'slack', url: `${hanging.url}/slow` },
      { type: 'email', host: '127.0.0.1', port: smtp.port, from: 'coffer@example.test', to: ['nobody@example.test'] },
      { type: 'syslog', host: '127.0.0.1', port: closedPort, protocol: 'tcp' },
      { type: 'syslog', host: '127.0.0.1', port: udp.port, protocol: 'udp' },
      { type: 'email', host: '127.0.0.1', port: closedPort, from: 'coffer@example.test', to: ['ops@example.test'] },
    ], { timeoutMs: 700 });
    assert.ok(Date.now() - started < 3_000, 'the timeout bounds the slowest target');
    assert.deepEqual(results.map((r) => r.ok), [false, false, false, false, true, false]);
    assert.match(results[0].error!.message, /HTTP 500/);
    assert.match(results[1].error!.message, /abort|timeout|timed out/i);
    assert.match(results[2].error!.message, /RCPT TO <nobody@example.test> refused: 550/);
    assert.match(results[3].error!.message, /ECONNREFUSED/);
    assert.match(results[5].error!.message, /ECONNREFUSED/);
    for (const r of results.filter((x) => !x.ok)) assert.equal(r.error!.code, 'COFFER-E520');
    assert.match(await udp.next(), /DR drill/);
    await http.next();
    await hanging.next();
  } finally {
    http.status = 200;
    smtp.rcptReply = 250;
    await hanging.close();
  }
});

void test('SMTP credentials are never sent in clear text to a remote host', async () => {
  const [result] = await notify(event, [
    { type: 'email', host: '192.0.2.1', port: 25, from: 'a@example.test', to: ['b@example.test'], auth: { user: 'u', pass: 'p' } },
  ], { timeoutMs: 500 });
  assert.equal(result.ok, false);
  assert.match(result.error!.message, /without TLS/);
});

void test('the notify activity reports per-target results without throwing', async () => {
  const activities = createCatalogActivities({
    catalog: undefined as unknown as Catalog, // notify does not touch the catalog
    auditMacKey: async () => Buffer.alloc(32),
    notifyTargets: [{ type: 'webhook', url: `${http.url}/a` }, { type: 'webhook', url: 'http://127.0.0.1:1/nothing' }],
    notifyTimeoutMs: 2_000,
  });
  const out = await activities.notify({ event });
  assert.equal(out.delivered, 1);
  assert.equal(out.failed, 1);
  assert.equal(JSON.parse((await http.next()).body).workflowId, event.workflowId);
});
