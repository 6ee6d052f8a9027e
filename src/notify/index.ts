import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Clock } from '../lib/clock.js';
import type { Store } from '../store/db.js';
import type { PipelineBus } from '../pipeline/bus.js';
import { CircuitBreaker } from '../delivery/circuit.js';
import { HttpSender } from '../delivery/http.js';
import type { CallbackGate } from '../delivery/gate.js';
import type { EventInput, Principal } from '../ingest/ingest.js';
import type { CallbackRegistry } from '../routing/registry.js';
import type { Job } from '../scheduler.js';
import { smtpMailer, telegramClient, type Mailer } from './transports.js';
import { NoticeSender } from './notices.js';
import { AccountEvents } from './operational.js';
import { FailureMonitor } from './failures.js';
import { AlertEvaluator } from './alerts.js';
import { ReportSender } from './reports.js';

export interface NotifyDeps {
  config: Config;
  store: Store;
  registry: CallbackRegistry;
  bus: PipelineBus;
  clock: Clock;
  log: Logger;
  /** Ingests events for an account (operational and alert events). */
  ingest: (principal: Principal, inputs: EventInput[]) => Promise<string[]>;
}

/** Everything that acts on outcomes and ingested events, wired once per process. */
export interface Notify {
  /** The circuit breaker; undefined when RELAY_CIRCUIT_FAILURES is 0. */
  breaker: CircuitBreaker | undefined;
  gate: CallbackGate | undefined;
  monitor: FailureMonitor;
  alerts: AlertEvaluator;
  reports: ReportSender;
  /** Periodic work for the scheduler (runs under its lock). */
  jobs: Job[];
  /** Subscribes the consumers to the bus (the circuit breaker only where a worker runs). */
  attach(roles: { worker: boolean }): void;
  close(): Promise<void>;
}

export function createNotify(deps: NotifyDeps): Notify {
  const { config, store, registry, bus, clock } = deps;
  const log = deps.log.child({ component: 'notify' });
  const mailer: Mailer = smtpMailer(config.smtpUrl, config.smtpFrom);
  // Slack and webhook notices go through the same guarded client as deliveries (SSRF rules, no redirects).
  const http = new HttpSender({ allowPrivate: config.allowPrivateNetworks, connectionsPerOrigin: 4 });
  const notices = new NoticeSender({ store, mailer, telegram: telegramClient(config.telegramApi), http, clock, log });
  const events = new AccountEvents({ ingest: deps.ingest, registry, clock, log });
  const monitor = new FailureMonitor(
    { store, registry, bus, clock, log, notices, events },
    { noticeIntervalMs: config.noticeIntervalMs, autoDisableAfterMs: config.autoDisableAfterMs, autoDisableExhausted: config.autoDisableExhausted },
  );
  const breaker =
    config.circuitFailures > 0
      ? new CircuitBreaker({ failures: config.circuitFailures, cooldownMs: config.circuitCooldownMs, maxCooldownMs: config.circuitMaxCooldownMs })
      : undefined;
  const alerts = new AlertEvaluator({ store, clock, log, notices, events });
  const reports = new ReportSender({ store, clock, log, notices });
  const offs: (() => void)[] = [];
  return {
    breaker,
    gate: breaker,
    monitor,
    alerts,
    reports,
    jobs: [
      { name: 'auto-disable-failing-callbacks', everyMs: 60_000, run: () => monitor.disableLongFailing() },
      { name: 'alert-authentication-timeouts', everyMs: 5_000, run: () => alerts.checkTimeouts() },
      { name: 'callback-reports', everyMs: 60_000, run: () => reports.runDue() },
    ],
    attach(roles) {
      // Outcome events only come from this process's worker; enable/disable through the API still
      // resets episodes and emits the operational events, so the monitor listens in every role.
      offs.push(monitor.attach());
      if (breaker && roles.worker) offs.push(breaker.attach(bus, () => clock.now()));
      offs.push(alerts.attach(bus));
    },
    async close() {
      for (const off of offs.splice(0)) off();
      await monitor.idle();
      mailer.close();
      await http.close();
    },
  };
}
