/**
 * callback-relay/receiver: the receiving end of callback-relay's callbacks, without our server —
 * verify what the relay sent, decrypt template values, parse any format into one event shape, and an
 * inbox that answers at once and handles later. See docs/receiver.md.
 */
export { FORMATS, DEFAULT_TOLERANCE_SEC, verify, verifyStandard, verifyTemplate, verifyEngagelab, verifyEngagelabEmail, verifyWhispir, verifyTwilio } from './verify.js';
export type {
  Format,
  VerifyOptions,
  VerifyOptionsOf,
  StandardOptions,
  TemplateOptions,
  EngagelabOptions,
  EngagelabEmailOptions,
  WhispirOptions,
  TwilioOptions,
  OctopushOptions,
} from './verify.js';
export { VerifyError, ParseError, type RefusalReason } from './errors.js';
export { decrypt, decryptValue, decryptBody, VALUE_CIPHERS, type ValueCipher, type DecryptOptions } from './decrypt.js';
export { parse, type ReceivedEvent, type ParseOptions } from './parse.js';
export { Inbox, openInbox, type InboxOptions, type InboxResponse, type InboxEntry, type InboxState, type RetryOptions } from './inbox.js';
export { nodeHandler, expressHandler, fastifyInbox, type RequestHandler } from './adapters.js';
export type { ReceivedRequest, HeaderValue } from './request.js';
