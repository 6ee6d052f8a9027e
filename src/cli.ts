#!/usr/bin/env node
import { Command } from 'commander';
import { ConfigError, loadConfig, parseRoles } from './config.js';
import { startRelay } from './runtime.js';
import { migrateToLatest, openStore, pendingMigrations } from './store/db.js';
import { DatabaseInUseError } from './store/lock.js';
import { backupDatabase } from './store/backup.js';
import { createApiUser, revokeApiUser, rotateApiUserKey } from './admin/accounts.js';
import type { Store } from './store/db.js';
import { listAllApiUsers } from './store/accounts.js';
import { boundHeapGrowth } from './lib/heap.js';
import { setMasterKeys } from './lib/seal.js';
import { rotateMasterKey } from './admin/secrets.js';

const program = new Command();
program
  .name('callback-relay')
  .description('Self-hosted callback (webhook) platform. Configuration comes from the environment: see README.md.')
  .version('0.1.0');

program
  .command('serve', { isDefault: true })
  .description('Run the API, the delivery workers and the scheduler (or the roles given)')
  .option('--roles <roles>', 'comma list of api, worker, scheduler (default: all; env RELAY_ROLES)')
  .allowExcessArguments()
  .action(async (opts: { roles?: string }, cmd: Command) => {
    // serve is the default command, so a mistyped command (`srve`) arrives here as an operand.
    if (cmd.args.length > 0) unknownCommand(cmd.args[0]!);
    const config = loadConfig(process.env, opts.roles ? { roles: parseRoles(opts.roles) } : {});
    boundHeapGrowth();
    const relay = await startRelay(config, { exclusive: true });
    if (relay.generatedAdmin) {
      // Printed once: the key is stored only as a digest.
      process.stdout.write(
        `\nNo RELAY_ADMIN_USER/RELAY_ADMIN_KEY set: created api user "${relay.generatedAdmin.apiUser}" with key\n  ${relay.generatedAdmin.apiKey}\n` +
          `Keep it now; it will not be shown again. Use it as HTTP Basic credentials on /v1.\n\n`,
      );
    }
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      relay.log.info({ signal }, 'shutting down');
      relay
        .close()
        .then(() => process.exit(0))
        .catch((err: unknown) => {
          relay.log.error({ err }, 'shutdown failed');
          process.exit(1);
        });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });

program
  .command('migrate')
  .description('Bring the database schema up to date, then exit (SQLite: not while serve runs on it)')
  .action(async () => {
    const config = loadConfig();
    const store = await openStore(config.databaseUrl, { exclusive: true });
    try {
      const applied = await migrateToLatest(store);
      process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'schema is up to date\n');
    } finally {
      await store.close();
    }
  });

program
  .command('create-api-user')
  .description('Create an api user (in a new account unless --account is given) and print its key once')
  .requiredOption('--name <name>', 'the api_user name')
  .option('--account <id>', 'add the user to this existing account')
  .option('--email <address>', "the new account's admin e-mail")
  .action(async (opts: { name: string; account?: string; email?: string }) => {
    await withAdminStore(async (store) => {
      const c = await createApiUser(store, { name: opts.name, accountId: opts.account, adminEmail: opts.email ?? null });
      process.stdout.write(`account: ${c.accountId}\napi_user: ${c.apiUser}\napi_key: ${c.apiKey}\n`);
    });
  });

const apiUsers = program.command('api-users').description('List, create, revoke api users and rotate their keys (beside a running serve too)');
apiUsers
  .command('list')
  .description('Every api user (or those of --account): name, account, created, revoked')
  .option('--account <id>', 'only this account')
  .action(async (opts: { account?: string }) => {
    await withAdminStore(async (store) => {
      const iso = (ms: number | null) => (ms === null ? '-' : new Date(Number(ms)).toISOString());
      process.stdout.write('name\taccount\tcreated_at\trevoked_at\n');
      for (const u of await listAllApiUsers(store.db, opts.account)) process.stdout.write(`${u.name}\t${u.account_id}\t${iso(u.created_at)}\t${iso(u.revoked_at)}\n`);
    });
  });
apiUsers
  .command('create')
  .description('Create an api user (in a new account unless --account is given) and print its key once')
  .argument('<name>', 'the api_user name')
  .option('--account <id>', 'add the user to this existing account')
  .option('--email <address>', "the new account's admin e-mail")
  .action(async (name: string, opts: { account?: string; email?: string }) => {
    await withAdminStore(async (store) => {
      const c = await createApiUser(store, { name, accountId: opts.account, adminEmail: opts.email ?? null });
      process.stdout.write(`account: ${c.accountId}\napi_user: ${c.apiUser}\napi_key: ${c.apiKey}\n`);
    });
  });
apiUsers
  .command('revoke')
  .description('Revoke an api user: its key stops working and its dashboard sessions end (a running serve forgets its cached credentials within 60 s)')
  .argument('<name>', 'the api_user name')
  .action(async (name: string) => {
    await withAdminStore(async (store) => {
      const u = await revokeApiUser(store, name);
      if (!u) throw new Error(`no api user "${name}"`);
      process.stdout.write(u.revoked_at === null ? `revoked: ${name}\n` : `already revoked: ${name}\n`);
    });
  });
apiUsers
  .command('rotate-key')
  .description('Give an api user a new key and print it once; the old key stops working, its sessions end')
  .argument('<name>', 'the api_user name')
  .action(async (name: string) => {
    await withAdminStore(async (store) => {
      const c = await rotateApiUserKey(store, name);
      if (!c) throw new Error(`no live api user "${name}" (unknown or revoked)`);
      process.stdout.write(`api_user: ${c.apiUser}\napi_key: ${c.apiKey}\n`);
    });
  });

/**
 * Opens the database for an administrative command. Beside a running `serve` on SQLite: that process
 * keeps the schema; the command only reads and writes rows of it (and refuses if this version would
 * need to migrate it).
 */
async function withAdminStore(fn: (store: Store) => Promise<void>): Promise<void> {
  const config = loadConfig();
  let busy = undefined as DatabaseInUseError | undefined;
  const store = await openStore(config.databaseUrl, { exclusive: true }).catch((err: unknown) => {
    if (!(err instanceof DatabaseInUseError)) throw err;
    busy = err;
    return openStore(config.databaseUrl);
  });
  try {
    if (!busy) await migrateToLatest(store);
    else if ((await pendingMigrations(store)).length > 0) throw new Error(`${busy.message}; its schema is older than this version's: stop it, then run migrate`);
    await fn(store);
  } finally {
    await store.close();
  }
}

program
  .command('backup')
  .description('Copy the SQLite database into FILE, consistent while serve runs (PostgreSQL: use pg_dump)')
  .argument('<file>', 'the new backup file')
  .action(async (file: string) => {
    const config = loadConfig();
    const tty = process.stderr.isTTY;
    const r = await backupDatabase(config.databaseUrl, file, (done, total) => {
      if (tty) process.stderr.write(`\rbacking up: ${Math.floor((100 * done) / Math.max(total, 1))}% (${done} of ${total} pages)`);
    });
    if (tty) process.stderr.write('\n');
    process.stdout.write(`backed up ${config.databaseUrl} to ${r.file}: ${r.pages} pages, ${(r.bytes / 1048576).toFixed(1)} MiB\n`);
  });

program
  .command('rotate-master-key')
  .description('Seal every stored secret again under RELAY_MASTER_KEY (the old key in RELAY_PREVIOUS_MASTER_KEY); see README, Secrets at rest')
  .action(async () => {
    const config = loadConfig();
    setMasterKeys(config.masterKey, config.previousMasterKeys);
    const store = await openStore(config.databaseUrl);
    try {
      await migrateToLatest(store);
      const r = await rotateMasterKey(store);
      process.stdout.write(`rows read: ${r.rows}, rows sealed again: ${r.written}, passes: ${r.passes}\n`);
      if (r.skipped > 0) throw new Error(`${r.skipped} rows kept changing during the rotation; run rotate-master-key again`);
    } finally {
      await store.close();
    }
  });

/** Refuses an unknown command (exit code 2) with the commands it may have meant. */
function unknownCommand(name: string): never {
  const near = program.commands.map((c) => c.name()).filter((n) => editDistance(n, name) <= Math.max(1, Math.floor(n.length / 3)));
  const hint = near.length > 0 ? `\n(Did you mean ${near.join(' or ')}?)` : '';
  return program.error(`error: unknown command '${name}'${hint}\nSee 'callback-relay --help' for the commands.`, { exitCode: 2, code: 'commander.unknownCommand' });
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

program.parseAsync().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`configuration error: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`callback-relay: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
