/** The event as the formats see it. */
export interface RenderEvent {
  id: string;
  type: string;
  createdAt: number;
  data: unknown;
  /** `data` as stored (JSON text), when at hand: formats that send it whole need not re-serialise it. */
  dataJson?: string;
  resourceId: string | null;
  customArgs: Record<string, unknown> | null;
}

/** What counts as success for a callback: by default any 2xx. */
export interface SuccessRule {
  /** Accepted status codes; default 200–299. */
  statuses?: readonly number[] | undefined;
  /** A substring the response body must contain. */
  bodyContains?: string | undefined;
}

export interface RenderedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  /** What counts as success for this request; default any 2xx. */
  success?: SuccessRule;
}

/** The URL check of a format (`POST /v1/callbacks/{id}/refresh`, Whispir's check on create). */
export interface CheckRequest extends RenderedRequest {
  success: SuccessRule;
  timeoutMs: number;
}

export const USER_AGENT = 'callback-relay/0.1';

/** Thrown by a renderer given an event type its format cannot carry (the delivery fails: render_error). */
export class UnsupportedEventError extends Error {
  constructor(format: string, type: string) {
    super(`format ${format} cannot carry event type ${type}`);
  }
}
