/** What a Test sent and what came back (POST /v1/callbacks/test or /v1/callbacks/{id}/test). */
import { Badge } from '../../components/ui';
import { ms } from '../../lib/format';
import type { TestResult } from './types';

const headerText = (h: Record<string, string>) =>
  Object.entries(h)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');

export function TestResultView({ result }: { result: TestResult }) {
  return (
    <section class="card test-result" aria-label="Test result">
      <h2>
        Test result <Badge value={result.outcome} /> <span class="help">{ms(result.duration_ms)}</span>
      </h2>
      {result.reason && <p>{result.reason}</p>}
      <div class="grid">
        <div>
          <h3>Request sent</h3>
          <pre class="mono" aria-label="Request sent">{`${result.request.method} ${result.request.url}\n${headerText(result.request.headers)}\n\n${result.request.body}`}</pre>
        </div>
        <div>
          <h3>Response received</h3>
          {result.response ? (
            <pre class="mono" aria-label="Response received">{`${result.response.status}\n${headerText(result.response.headers)}\n\n${result.response.body}${result.response.body_truncated ? '\n… (truncated)' : ''}`}</pre>
          ) : (
            <p class="field-error">{result.error ? `${result.error.class}: ${result.error.message}` : 'No response.'}</p>
          )}
        </div>
      </div>
      <p class="help">
        Sample event <code>{result.event.type}</code> ({result.event.id}); recorded as test attempt {result.attempt_id}.
      </p>
    </section>
  );
}
