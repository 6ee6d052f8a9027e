import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';

export interface ReceivedMail {
  to: string[];
  from: string;
  subject: string;
  text: string;
  /** The SMTP AUTH user, when the client logged in. */
  user: string | undefined;
  parsed: ParsedMail;
}

/** A real SMTP server on 127.0.0.1 that parses (mailparser) and keeps every message it is sent. */
export class TestSmtpServer {
  readonly mails: ReceivedMail[] = [];
  private server: SMTPServer;
  private port = 0;

  constructor(private readonly auth?: { user: string; pass: string }) {
    this.server = new SMTPServer({
      disabledCommands: auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
      authOptional: !auth,
      allowInsecureAuth: true,
      logger: false,
      onAuth: (a, _session, cb) => {
        if (auth && a.username === auth.user && a.password === auth.pass) cb(null, { user: a.username });
        else cb(new Error('invalid credentials'));
      },
      onData: (stream, session, cb) => {
        simpleParser(stream)
          .then((parsed) => {
            const addr = (v: ParsedMail['to']) => (Array.isArray(v) ? v : v ? [v] : []).flatMap((a) => a.value.map((x) => x.address ?? ''));
            this.mails.push({
              to: addr(parsed.to),
              from: parsed.from?.value[0]?.address ?? '',
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              user: typeof session.user === 'string' ? session.user : undefined,
              parsed,
            });
            cb();
          })
          .catch((err: Error) => cb(err));
      },
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return this.auth ? `smtp://${encodeURIComponent(this.auth.user)}:${encodeURIComponent(this.auth.pass)}@127.0.0.1:${this.port}` : `smtp://127.0.0.1:${this.port}`;
  }

  to(address: string): ReceivedMail[] {
    return this.mails.filter((m) => m.to.includes(address));
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface TelegramCall {
  token: string;
  chat_id: string;
  text: string;
}

/** A local fake of the Telegram Bot API: records sendMessage calls; bot tokens in `refuse` get 401. */
export class FakeTelegram {
  readonly calls: TelegramCall[] = [];
  readonly refuse = new Set<string>();
  private server: HttpServer;

  constructor() {
    this.server = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const m = /^\/bot([^/]+)\/sendMessage$/.exec(req.url ?? '');
        res.setHeader('content-type', 'application/json');
        if (!m || req.method !== 'POST') {
          res.statusCode = 404;
          res.end(JSON.stringify({ ok: false, error_code: 404, description: 'Not Found' }));
          return;
        }
        const token = decodeURIComponent(m[1]!);
        if (this.refuse.has(token)) {
          res.statusCode = 401;
          res.end(JSON.stringify({ ok: false, error_code: 401, description: 'Unauthorized' }));
          return;
        }
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { chat_id: string | number; text: string };
        this.calls.push({ token, chat_id: String(body.chat_id), text: body.text });
        res.end(JSON.stringify({ ok: true, result: { message_id: this.calls.length } }));
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
