import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  ConfigError,
  SecretUnresolved,
  backendOptions,
  cronProblem,
  loadConfig,
  parseConfig,
  parseInterval,
  resolveBackendEnv,
  resolveNotifyTarget,
  resolveRepositoryPassword,
  resolveSecret,
  selectProfile,
} from '../../activities/config/profile';
import { isCofferError } from '../../activities/errors';
import { parseRepositoryUrl } from '../../activities/storage/url';

const EXAMPLE = resolve(__dirname, '../../examples/coffer.yaml');

const MINIMAL = `version: 1
profiles:
  prod:
    repository:
      url: s3://coffer/prod
      passwordEnv: COFFER_PASSWORD
    sources:
      etc:
        paths: [/etc]
`;

/** Parses `text` and returns the ConfigError it must raise. */
function problemsOf(text: string): ConfigError {
  try {
    parseConfig(text, 'coffer.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('the config was accepted');
}

void describe('config file', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('loads the complete example in examples/coffer.yaml', async () => {
    const config = await loadConfig(EXAMPLE);
    assert.equal(config.version, 1);
    assert.equal(config.file, EXAMPLE);
    assert.deepEqual(Object.keys(config.profiles).sort(), ['laptop', 'prod']);
    const prod = selectProfile(config);
    assert.equal(prod.name, 'prod');
    assert.doesNotThrow(() => parseRepositoryUrl(prod.repository.url));
    assert.deepEqual(Object.keys(prod.sources).sort(), ['etc', 'pg', 'www']);
    assert.deepEqual(prod.sources.pg?.command, ['pg_dump', '--format=custom', 'mydb']);
    assert.equal(prod.sources.pg?.filename, 'mydb.dump');
    assert.deepEqual(prod.sources.www?.hooks?.pre, [['systemctl', 'stop', 'app-worker']]);
    assert.equal(prod.sources.www?.hooks?.postOnFailure, true, 'defaults are applied');
    assert.equal(prod.schedules['hourly-db']?.everySeconds, 3600);
    assert.equal(prod.schedules['hourly-db']?.jitterSeconds, 300);
    assert.equal(prod.schedules.nightly?.overlap, 'skip');
    assert.equal(prod.retention?.keepDaily, 14);
    assert.equal(prod.drill?.rtoSeconds, 900);
    assert.equal(prod.notifications.oncall?.type, 'slack');
    assert.equal(prod.anomaly?.changedFilesShare, 0.3);
    assert.equal(selectProfile(config, 'laptop').repository.passwordEnv, 'COFFER_PASSWORD');
    // One call covers every section: all actions, all notification types, both source kinds.
    assert.deepEqual(new Set(Object.values(prod.schedules).map((s) => s.action)), new Set(['backup', 'retention', 'drill', 'verify']));
    assert.deepEqual(new Set(Object.values(prod.notifications).map((n) => n.type)), new Set(['webhook', 'slack', 'email', 'syslog']));
  });

  void it('returns a deeply frozen object', async () => {
    const config = await loadConfig(EXAMPLE);
    const prod = selectProfile(config);
    assert.ok(Object.isFrozen(config) && Object.isFrozen(prod.sources) && Object.isFrozen(prod.sources.etc?.paths));
    assert.throws(() => {
      (prod.retention as { keepDaily: number }).keepDaily = 1;
    }, TypeError);
  });

  void it('reports file, line and field path for a wrong value', () => {
    const text = MINIMAL + '    retention:\n      keepLast: 2\n      keepDaily: -1\n';
    const err = problemsOf(text);
    assert.equal(err.code, 'COFFER-E530');
    assert.ok(isCofferError(err));
    assert.equal(err.message, 'coffer.yaml:12: profiles.prod.retention.keepDaily: expected a whole number ≥ 0');
    assert.deepEqual(err.problems, [{ file: 'coffer.yaml', line: 12, field: 'profiles.prod.retention.keepDaily', message: 'expected a whole number ≥ 0' }]);
    assert.ok(err.hint?.includes('docs/configuration.md'));
  });

  void it('lists every problem, sorted by line, with lines in nested lists', () => {
    const text = `version: 1
profiles:
  prod:
    repository:
      url: ftp://nowhere
    sources:
      a:
        paths: [/ok, relative/path]
        colour: blue
      b:
        command: [pg_dump]
        excludes: ["*.tmp"]
    schedules:
      s:
        action: backup
        cron: "61 * * * *"
      t:
        action: drill
        every: soon
    notifications:
      x:
        type: pigeon
`;
    const err = problemsOf(text);
    const got = err.problems.map((p) => `${p.line} ${p.field}`);
    assert.deepEqual(got, [
      '5 profiles.prod.repository.url',
      '8 profiles.prod.sources.a.paths[1]',
      '9 profiles.prod.sources.a.colour',
      '12 profiles.prod.sources.b.excludes',
      '16 profiles.prod.schedules.s.cron',
      '19 profiles.prod.schedules.t.every',
      '22 profiles.prod.notifications.x.type',
    ]);
    assert.match(err.problems[0]?.message ?? '', /unknown repository URL scheme/);
    assert.match(err.problems[2]?.message ?? '', /unknown field/);
    assert.match(err.problems[3]?.message ?? '', /only for path sources/);
    assert.match(err.problems[4]?.message ?? '', /minute '61' is outside 0-59/);
    assert.equal(err.message.split('\n').length, 7);
  });

  void it('reports cross-field rules: missing fields, unknown schedule sources, schedules without policy', () => {
    const missing = problemsOf('version: 1\nprofiles:\n  p:\n    sources: {}\n');
    assert.deepEqual(missing.problems.map((p) => [p.line, p.field]), [[3, 'profiles.p.repository']]);
    assert.match(missing.problems[0]?.message ?? '', /required field is missing/);

    const cross = problemsOf(`${MINIMAL}    schedules:
      nightly:
        action: backup
        cron: "@daily"
        sources: [etc, nope]
      prune:
        action: retention
        every: 1d
      both:
        action: backup
        cron: "0 1 * * *"
        every: 1h
`);
    assert.deepEqual(
      cross.problems.map((p) => `${p.line} ${p.field}: ${p.message}`),
      [
        "14 profiles.prod.schedules.nightly.sources[1]: no source named 'nope' in this profile",
        '15 profiles.prod.schedules.prune: a retention schedule needs a retention policy in the profile',
        '18 profiles.prod.schedules.both: a schedule needs exactly one of cron or every',
      ],
    );
  });

  void it('refuses a retention policy that keeps nothing', () => {
    const err = problemsOf(`${MINIMAL}    retention:\n      keepLast: 0\n`);
    assert.equal(err.problems[0]?.field, 'profiles.prod.retention');
    assert.match(err.problems[0]?.message ?? '', /keeps nothing/);
  });

  void it('rejects literal secrets and says how to reference them, without echoing the value', () => {
    const text = `version: 1
profiles:
  prod:
    repository:
      url: s3://coffer/prod
      password: hunter2-the-secret
      credentials:
        AWS_SECRET_ACCESS_KEY: also-secret-value
    notifications:
      mail:
        type: email
        host: smtp.example.com
        port: 465
        from: a@example.com
        to: [b@example.com]
        auth: { user: coffer, password: third-secret-value }
      hook:
        type: webhook
        url: https://example.com/hook
        headers:
          Authorization: Bearer fourth-secret-value
      chat:
        type: slack
        url: https://hooks.slack.com/services/T000/B000/fifth-secret
`;
    const err = problemsOf(text);
    for (const secret of ['hunter2', 'also-secret', 'third-secret', 'fourth-secret', 'fifth-secret']) {
      assert.ok(!err.message.includes(secret), `the error must not contain ${secret}`);
    }
    const byField = new Map(err.problems.map((p) => [p.field, p]));
    const password = byField.get('profiles.prod.repository.password');
    assert.equal(password?.line, 6);
    assert.match(password?.message ?? '', /passwordFile: .*passwordEnv:/);
    assert.equal(byField.get('profiles.prod.repository.credentials.AWS_SECRET_ACCESS_KEY')?.line, 8);
    assert.match(byField.get('profiles.prod.repository.credentials.AWS_SECRET_ACCESS_KEY')?.message ?? '', /\{ env: VARIABLE \}/);
    assert.equal(byField.get('profiles.prod.notifications.mail.auth.password')?.line, 16);
    assert.equal(byField.get('profiles.prod.notifications.hook.headers.Authorization')?.line, 21);
    assert.equal(byField.get('profiles.prod.notifications.chat.url')?.line, 24, 'a Slack webhook URL is a credential');
    for (const key of ['key', 'secretAccessKey', 'apiKey', 'token']) {
      const e = problemsOf(MINIMAL.replace('passwordEnv: COFFER_PASSWORD', `passwordEnv: COFFER_PASSWORD\n      ${key}: abc`));
      assert.match(e.message, new RegExp(`^coffer.yaml:7: profiles.prod.repository.${key}: literal secrets are not allowed`));
    }
  });

  void it('reports YAML syntax errors and duplicate keys with their line', () => {
    const syntax = problemsOf('version: 1\nprofiles:\n  prod: [\n');
    assert.match(syntax.message, /^coffer\.yaml:\d+: not valid YAML/);
    const dup = problemsOf(MINIMAL + '    sources:\n      x:\n        paths: [/x]\n');
    assert.equal(dup.problems[0]?.line, 10);
    assert.match(dup.message, /not valid YAML: Map keys must be unique/);
  });

  void it('names a missing file without a stack trace', async () => {
    await assert.rejects(loadConfig(join(dir, 'absent.yaml')), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /absent\.yaml: cannot read the config file \(ENOENT\)/);
      return true;
    });
  });

  void it('resolves secret references from the environment and from files', async () => {
    const passFile = join(dir, 'pass.txt');
    await writeFile(passFile, 'correct horse\n');
    await chmod(passFile, 0o600);
    await writeFile(join(dir, 'aws-secret'), 'aws-secret-value');
    const cfgPath = join(dir, 'coffer.yaml');
    await writeFile(
      cfgPath,
      `version: 1
profiles:
  a:
    repository:
      url: local:./repo
      passwordFile: pass.txt
      credentials:
        AWS_ACCESS_KEY_ID: { env: MY_KEY_ID }
        AWS_SECRET_ACCESS_KEY: { file: aws-secret }
    notifications:
      chat: { type: slack, url: { env: SLACK_URL } }
      mail:
        type: email
        host: 127.0.0.1
        port: 2525
        from: a@example.com
        to: [b@example.com]
        auth: { user: u, password: { env: SMTP_PASS } }
  b:
    repository:
      url: /srv/repo
      passwordEnv: B_PASS
`,
    );
    const config = await loadConfig(cfgPath);
    const env = { MY_KEY_ID: 'key-id', SLACK_URL: 'https://hooks.example/x', SMTP_PASS: 'smtp-pass', B_PASS: 'b-pass' };
    const a = selectProfile(config, 'a');
    assert.equal(await resolveRepositoryPassword(config, a, env), 'correct horse', 'relative to the config file, newline dropped');
    assert.equal(await resolveRepositoryPassword(config, selectProfile(config, 'b'), env), 'b-pass');
    const backendEnv = await resolveBackendEnv(config, a, env);
    assert.equal(backendEnv.AWS_ACCESS_KEY_ID, 'key-id');
    assert.equal(backendEnv.AWS_SECRET_ACCESS_KEY, 'aws-secret-value');
    assert.equal(backendOptions(config, a).cwd, dir);
    assert.deepEqual(await resolveNotifyTarget(config, a.notifications.chat, env), { type: 'slack', url: 'https://hooks.example/x' });
    const mail = await resolveNotifyTarget(config, a.notifications.mail, env);
    assert.equal(mail.type === 'email' ? mail.auth?.pass : undefined, 'smtp-pass');

    await assert.rejects(resolveSecret({ env: 'NOT_SET_ANYWHERE' }, {}), (err: unknown) => err instanceof SecretUnresolved && /NOT_SET_ANYWHERE is not set/.test(err.message));
    await assert.rejects(resolveSecret({ file: 'missing' }, {}, dir), (err: unknown) => err instanceof SecretUnresolved && /ENOENT/.test(err.message));
    assert.throws(() => selectProfile(config), /several profiles \(a, b\)/);
    assert.throws(() => selectProfile(config, 'c'), /no profile named 'c'/);
  });

  void it('checks cron expressions and intervals', () => {
    for (const ok of ['30 2 * * *', '*/15 * * * *', '0 6 * * mon-fri', '0 0 1 jan,jul *', '@daily', '0 0 * * 7']) assert.equal(cronProblem(ok), undefined, ok);
    for (const bad of ['* * * *', '60 * * * *', '0 24 * * *', '0 0 0 * *', '0 0 * 13 *', '*/0 * * * *', '5-1 * * * *', '0 0 * * funday']) assert.notEqual(cronProblem(bad), undefined, bad);
    assert.equal(parseInterval('1h30m'), 5400);
    assert.equal(parseInterval('2w'), 1_209_600);
    assert.equal(parseInterval('1.5h'), undefined);
  });
});
