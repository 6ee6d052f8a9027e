#!/usr/bin/env node
import { Command } from 'commander';
import { ConfigError, loadConfig, parseRoles } from './config.js';
import { startRelay } from './runtime.js';
import { migrateToLatest, openStore } from './store/db.js';
import { createApiUser } from './admin/accounts.js';
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
  .action(async (opts: { roles?: string }) => {
    const config = loadConfig(process.env, opts.roles ? { roles: parseRoles(opts.roles) } : {});
    boundHeapGrowth();
    const relay = await startRelay(config);
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
  .description('Bring the database schema up to date, then exit')
  .action(async () => {
    const config = loadConfig();
    const store = await openStore(config.databaseUrl);
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
    const config = loadConfig();
    const store = await openStore(config.databaseUrl);
    try {
      await migrateToLatest(store);
      const c = await createApiUser(store, { name: opts.name, accountId: opts.account, adminEmail: opts.email ?? null });
      process.stdout.write(`account: ${c.accountId}\napi_user: ${c.apiUser}\napi_key: ${c.apiKey}\n`);
    } finally {
      await store.close();
    }
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

program.parseAsync().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`configuration error: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`callback-relay: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
