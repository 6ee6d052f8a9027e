/**
 * Compares this checkout's build with another revision's on the same machine, in interleaved runs of
 * the bench: this machine's speed moves from minute to minute, so only runs taken side by side
 * compare (BENCHMARKS.md). Builds the other revision in a temporary git worktree, then alternates
 * `node dist/bench/bench.js --json <bench options>` between the two builds for a number of rounds and
 * prints each round's figures and their means.
 *
 * @example
 *   npm run bench:compare -- --base HEAD~1 --rounds 3 -- --only raw,drain
 *   node dist/bench/compare.js --base 7a50dc2 --keys ingest_single_per_s -- --db postgres --only ingest
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));

const dashes = process.argv.indexOf('--');
const own = dashes === -1 ? process.argv.slice(2) : process.argv.slice(2, dashes);
const benchArgs = dashes === -1 ? [] : process.argv.slice(dashes + 1);
const { values } = parseArgs({
  args: own,
  options: {
    base: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    keys: { type: 'string', default: 'raw_limit_per_s,drain_per_s,drain_ratio,ingest_single_per_s,ingest_batch_per_s,latency_p99_ms' },
  },
});
const rounds = Number(values.rounds);
if (!values.base || !Number.isInteger(rounds) || rounds < 1 || rounds > 20) {
  process.stderr.write('usage: node dist/bench/compare.js --base <git revision> [--rounds 1-20] [--keys k1,k2] [-- <bench options>]\n');
  process.exit(2);
}
const keys = values.keys.split(',').map((k) => k.trim()).filter(Boolean);

/** The figures of one bench run: the top-level keys asked for, and the relay's CPU per delivery. */
function figures(json: Record<string, unknown>): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const k of keys) out[k] = typeof json[k] === 'number' ? json[k] : null;
  const drain = (json.details as { drain?: { relay_cpu_us_per_delivery?: number } } | undefined)?.drain;
  if (drain?.relay_cpu_us_per_delivery !== undefined) out.drain_cpu_us = drain.relay_cpu_us_per_delivery;
  return out;
}

function runBench(root: string): Promise<Record<string, number | null>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'dist/bench/bench.js'), '--json', ...benchArgs], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', () => {
      try {
        resolve(figures(JSON.parse(out) as Record<string, unknown>));
      } catch {
        reject(new Error(`the bench in ${root} printed no JSON (exit status aside); run it alone to see why`));
      }
    });
  });
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'callback-relay-compare-'));
const worktree = path.join(tmp, 'base');
const cleanUp = (): void => {
  try {
    execFileSync('git', ['worktree', 'remove', '--force', worktree], { cwd: here, stdio: 'ignore' });
  } catch {
    /* not created */
  }
  rmSync(tmp, { recursive: true, force: true });
};
process.on('SIGINT', () => {
  cleanUp();
  process.exit(130);
});

try {
  const rev = execFileSync('git', ['rev-parse', '--short', values.base], { cwd: here, encoding: 'utf8' }).trim();
  process.stderr.write(`building ${rev} in ${worktree}\n`);
  execFileSync('git', ['worktree', 'add', '--detach', worktree, rev], { cwd: here, stdio: 'ignore' });
  symlinkSync(path.join(here, 'node_modules'), path.join(worktree, 'node_modules'));
  execFileSync(path.join(here, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], { cwd: worktree, stdio: 'inherit' });
  if (!existsSync(path.join(worktree, 'dist/bench/bench.js'))) throw new Error(`${rev} has no bench to run`);
  const builds: [string, string][] = [
    [rev, worktree],
    ['this', here],
  ];
  const rows: { build: string; round: number; f: Record<string, number | null> }[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const [build, root] of builds) {
      const f = await runBench(root);
      rows.push({ build, round, f });
      process.stderr.write(`round ${round} ${build}: ${JSON.stringify(f)}\n`);
    }
  }
  // The figures some run has (a phase not run gives none).
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r.f)))].filter((c) => rows.some((r) => typeof r.f[c] === 'number'));
  const fmt = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : String(Math.round(v * 1000) / 1000));
  const lines = [['build', 'round', ...cols].join('\t')];
  for (const r of rows) lines.push([r.build, String(r.round), ...cols.map((c) => fmt(r.f[c]))].join('\t'));
  for (const [build] of builds) {
    const mine = rows.filter((r) => r.build === build);
    const mean = (c: string): number | null => {
      const v = mine.map((r) => r.f[c]).filter((x): x is number => typeof x === 'number');
      return v.length === 0 ? null : v.reduce((a, b) => a + b, 0) / v.length;
    };
    lines.push([build, 'mean', ...cols.map((c) => fmt(mean(c)))].join('\t'));
  }
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  cleanUp();
}
