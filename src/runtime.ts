import { ConfigError, type Config } from './config.js';
import { systemClock, type Clock } from './lib/clock.js';
import { createLogger, type Logger } from './lib/log.js';
import { Metrics } from './lib/metrics.js';
import { migrateToLatest, openStore, SchemaTooNewError, type Store } from './store/db.js';
import { DatabaseInUseError } from './store/lock.js';
import { queueStats } from './store/deliveries.js';
import { CallbackRegistry } from './routing/registry.js';
import { Ingestor } from './ingest/ingest.js';
import { PipelineBus } from './pipeline/bus.js';
import { HttpSender } from './delivery/http.js';
import { DeliveryWorker } from './delivery/worker.js';
import { disableOnGone } from './notify/gone.js';
import { Scheduler } from './scheduler.js';
import { RetentionPurger } from './retention.js';
import { DeliveryRollups } from './rollups.js';
import { createNotify, type Notify } from './notify/index.js';
import { buildApp, buildOpsApp, type App, type OpsApp } from './api/app.js';
import { bootstrapAdmin, type Credentials } from './admin/accounts.js';
import { TokenAuthorizer } from './delivery/token-auth.js';
import { setMasterKeys } from './lib/seal.js';
import { shutdown } from './shutdown.js';
import { sealStoredSecrets } from './admin/secrets.js';
import { InboundRecorder } from './inbound/recorder.js';
import { InboundMapper } from './inbound/mapper.js';
import { SourceLookup } from './inbound/sources.js';

/** The channel on which PostgreSQL tells workers in every process that deliveries are due. */
const DUE_CHANNEL = 'callback_relay_due';

export interface Relay {
  config: Config;
  store: Store;
  registry: CallbackRegistry;
  bus: PipelineBus;
  ingestor: Ingestor;
  worker: DeliveryWorker | undefined;
  /** Advanced authentication's token cache (template callbacks' token_auth). */
  authorizer: TokenAuthorizer;
  /** Failure notices, circuit breaker, auto-disable, operational events, alerts, reports. */
  notify: Notify;
  scheduler: Scheduler | undefined;
  /** The inbound gateway's mapper (api role): maps stored requests after they were answered. */
  inboundMapper: InboundMapper | undefined;
  app: App | undefined;
  /** Without the api role: the server of /healthz, /readyz and /metrics alone. */
  ops: OpsApp | undefined;
  log: Logger;
  /** The API's address once listening (without the api role: the ops server's), e.g. http://127.0.0.1:8080. */
  url: string | undefined;
  /** Set on the very first start when no admin credentials were configured. */
  generatedAdmin: Credentials | null;
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  log?: Logger;
  /** Listen on config.port (default true); tests of the API alone use app.inject() instead. */
  listen?: boolean;
  /** SQLite: refuse to start while another process serves the file, and keep others out (`serve`). */
  exclusive?: boolean;
}

/** Opens the database, brings it up to date, and starts the roles this process was given. */
export async function startRelay(config: Config, opts: StartOptions = {}): Promise<Relay> {
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? createLogger(config.logLevel);
  // Every stored secret is sealed with it (src/lib/seal.ts, src/store/sealing.ts).
  setMasterKeys(config.masterKey, config.previousMasterKeys);
  const storeLog = log.child({ component: 'store' });
  let store: Store;
  try {
    store = await openStore(config.databaseUrl, {
      checkpointThread: { log: storeLog },
      log: storeLog,
      // Which process and roles each connection serves, in pg_stat_activity.
      applicationName: `callback-relay ${process.pid} ${config.roles.join(',')}`,
      exclusive: opts.exclusive ?? false,
    });
  } catch (err) {
    // Another process holding the SQLite file says so itself; anything else is the URL's to fix.
    if (err instanceof DatabaseInUseError) throw err;
    throw settingError(`cannot open the database ${safeDatabaseUrl(config.databaseUrl)}`, err, 'check DATABASE_URL');
  }
  try {
    await migrateToLatest(store);
    // Seals what was stored plain; a missing or wrong key stops the start here (a ConfigError).
    await sealStoredSecrets(store);
  } catch (err) {
    await store.close();
    // A key that cannot open the sealed secrets, or a database newer than this code, says so itself.
    if (err instanceof ConfigError || err instanceof SchemaTooNewError) throw err;
    throw settingError(`cannot use the database ${store.describe}`, err, 'check DATABASE_URL');
  }
  const generatedAdmin = await bootstrapAdmin(store, config.adminUser, config.adminKey);
  const registry = new CallbackRegistry(store);
  await registry.start();
  const bus = new PipelineBus(log);
  const metrics = new Metrics(() => queueStats(store.db), () => clock.now());
  const has = (role: Config['roles'][number]) => config.roles.includes(role);

  let worker: DeliveryWorker | undefined;
  let sender: HttpSender | undefined;
  // Token requests of advanced authentication: the same guarded sender class (SSRF rules), one token
  // cache shared by the worker and the API's test calls. Token answers may exceed the 4 KiB kept of
  // callback responses.
  const tokenSender = new HttpSender({ allowPrivate: config.allowPrivateNetworks, maxResponseBodyBytes: 65_536 });
  const authorizer = new TokenAuthorizer({ sender: tokenSender, clock, log: log.child({ component: 'token-auth' }) });
  const unsubscribe: (() => void | Promise<void>)[] = [];
  // Workers are told which callbacks have new deliveries; with no ids, they sweep the queue.
  const wakeLocal = (callbackIds?: Iterable<string>) => worker?.wake(callbackIds);
  const wake = store.caps.listenNotify
    ? (callbackIds?: Set<string>) => {
        wakeLocal(callbackIds);
        const payload = callbackIds ? [...callbackIds].join(',') : '';
        // NOTIFY payloads stop at 8000 bytes: past that, let the other processes sweep.
        store.notify(DUE_CHANNEL, payload.length < 7900 ? payload : '').catch((err: unknown) => log.warn({ err }, 'notify failed'));
      }
    : wakeLocal;

  const ingestor = new Ingestor({
    store,
    registry,
    clock,
    log,
    onCommitted: wake,
    // Alert rules evaluate what was stored (never idempotent repeats).
    onStored: (stored) => bus.emit('events.ingested', stored),
  });
  const notify = createNotify({ config, store, registry, bus, clock, log, ingest: (p, i) => ingestor.ingest(p, i) });
  notify.attach({ worker: has('worker') });

  if (has('worker')) {
    sender = new HttpSender({ allowPrivate: config.allowPrivateNetworks, connectionsPerKey: config.callbackConcurrency });
    worker = new DeliveryWorker(
      { store, registry, sender, authorizer, bus, clock, log: log.child({ component: 'worker' }), metrics, ...(notify.gate ? { gate: notify.gate } : {}) },
      {
        retrySchedule: config.retrySchedule,
        concurrency: config.workerConcurrency,
        callbackConcurrency: config.callbackConcurrency,
        sweepIntervalMs: config.sweepIntervalMs,
        leaseMs: config.leaseMs,
      },
    );
    ingestor.handOffTo(worker.handOff);
    unsubscribe.push(disableOnGone({ store, registry, bus, clock, log }));
    if (store.caps.listenNotify) {
      // After the LISTEN connection comes back, sweep: what was notified while it was down is missed.
      unsubscribe.push(await store.listen(DUE_CHANNEL, (payload) => wakeLocal(payload ? payload.split(',') : undefined), () => wakeLocal()));
    }
    worker.start();
  }

  let scheduler: Scheduler | undefined;
  if (has('scheduler')) {
    const retention = new RetentionPurger({ store, clock, log: log.child({ component: 'retention' }) }, { defaultMs: config.retentionMs });
    const rollups = new DeliveryRollups({ store, clock, log: log.child({ component: 'rollups' }) });
    scheduler = new Scheduler({ store, clock, log: log.child({ component: 'scheduler' }), jobs: [...notify.jobs, rollups.job(), retention.job()] });
    scheduler.start();
  }

  let app: App | undefined;
  let ops: OpsApp | undefined;
  let url: string | undefined;
  let inboundRecorder: InboundRecorder | undefined;
  let inboundMapper: InboundMapper | undefined;
  // What is running, for close() and for a start that fails from here on (its port taken): the
  // worker, scheduler and mapper already run, and must not be left running with no way to stop them.
  const stop = () =>
    shutdown({
      app,
      ops,
      inbound: { recorder: inboundRecorder, mapper: inboundMapper },
      ingestor,
      worker,
      scheduler,
      notify,
      unsubscribe,
      registry,
      senders: [sender, tokenSender],
      store,
      log,
      drainMs: config.shutdownTimeoutMs,
    });
  try {
    if (has('api')) {
      // Inbound requests are mapped where they are received; the sweep maps what any process left stored.
      inboundRecorder = new InboundRecorder(store);
      inboundMapper = new InboundMapper({ store, ingestor, clock, log: log.child({ component: 'inbound' }), metrics });
      inboundMapper.start();
      const inbound = { recorder: inboundRecorder, mapper: inboundMapper, sources: new SourceLookup(store.db) };
      app = await buildApp({ config, store, registry, ingestor, bus, clock, log, metrics, wake, notify, authorizer, inbound });
      if (opts.listen !== false) {
        url = await app.listen({ port: config.port, host: config.host }).catch((err: unknown) => Promise.reject(listenError(config, err)));
      } else {
        await app.ready();
      }
    } else {
      ops = await buildOpsApp({ store, metrics, log });
      if (opts.listen !== false) url = await ops.listen({ port: config.port, host: config.host }).catch((err: unknown) => Promise.reject(listenError(config, err)));
      else await ops.ready();
    }
  } catch (err) {
    await stop().catch((e: unknown) => log.warn({ err: e }, 'stopping after a failed start failed too'));
    throw err;
  }
  log.info({ roles: config.roles, database: store.describe, url, leaseOwner: worker?.owner }, 'callback-relay started');

  let closing: Promise<void> | undefined;
  return {
    config,
    store,
    registry,
    bus,
    ingestor,
    worker,
    authorizer,
    notify,
    scheduler,
    inboundMapper,
    app,
    ops,
    log,
    url,
    generatedAdmin,
    close() {
      closing ??= stop();
      return closing;
    },
  };
}

/** A start-up failure that says which setting to look at (the CLI prints the message and exits). */
function settingError(what: string, err: unknown, fix: string): Error {
  const reason = err instanceof Error ? err.message || String((err as NodeJS.ErrnoException).code ?? err.name) : String(err);
  return new Error(`${what}: ${reason}; ${fix}`, { cause: err });
}

/** DATABASE_URL without its password, for messages. */
function safeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.startsWith('sqlite:') ? url : '(unparsable URL)';
  }
}

function listenError(config: Config, err: unknown): Error {
  const where = `${config.host}:${config.port}`;
  switch ((err as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE':
      return settingError(`cannot listen on ${where}`, err, 'another process uses that port: set PORT (or HOST) to a free one');
    case 'EACCES':
      return settingError(`cannot listen on ${where}`, err, 'ports below 1024 need privileges: set PORT');
    case 'EADDRNOTAVAIL':
      return settingError(`cannot listen on ${where}`, err, `${config.host} is not an address of this machine: set HOST`);
    default:
      return settingError(`cannot listen on ${where}`, err, 'check PORT and HOST');
  }
}
