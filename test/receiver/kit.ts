import type { Received, TestReceiver } from '../helpers/receiver.js';
import { decryptBody, parse, verify, VerifyError, type Format, type ParseOptions, type ReceivedEvent, type ReceivedRequest, type VerifyOptionsOf } from '../../src/receiver/index.js';

/** What the test receiver got, as the kit takes it. */
export const asRequest = (r: Received): ReceivedRequest => ({ method: r.method, url: r.path, headers: r.headers, body: r.body });

/** The reason verify() gives, or 'passed'. */
export function reasonOf(f: () => unknown): string {
  try {
    f();
    return 'passed';
  } catch (err) {
    if (err instanceof VerifyError) return err.reason;
    throw err;
  }
}

/**
 * Makes a test receiver (real HTTP on 127.0.0.1) verify and parse with the kit, as a customer's would:
 * 401 with the reason when it does not verify, else 200 (`OK` to Whispir's check GET). A JWE body is
 * decrypted first when `jweKey` is given.
 */
export function useKit<F extends Format>(receiver: TestReceiver, format: F, options: () => VerifyOptionsOf[F], parseOptions: ParseOptions & { jweKey?: Uint8Array } = {}) {
  const accepted: { req: Received; events: ReceivedEvent[] }[] = [];
  const refused: { req: Received; reason: string }[] = [];
  receiver.behaviour = (req, res) => {
    const reason = reasonOf(() => verify(format, asRequest(req), options()));
    if (reason !== 'passed') {
      refused.push({ req, reason });
      res.writeHead(401).end(reason);
      return;
    }
    void (async () => {
      let plain = asRequest(req);
      if (parseOptions.jweKey && req.headers['content-type'] === 'application/jose') {
        const { plaintext, contentType } = await decryptBody(req.body, { key: parseOptions.jweKey });
        plain = { ...plain, headers: { ...plain.headers, 'content-type': contentType ?? '' }, body: plaintext };
      }
      const events = parse(format, plain, parseOptions);
      if (events.length > 0) accepted.push({ req, events });
      res.writeHead(200).end(format === 'whispir' && req.method === 'GET' ? 'OK' : '');
    })().catch((err: unknown) => res.writeHead(500).end(String(err)));
  };
  return { accepted, refused };
}
