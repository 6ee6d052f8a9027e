import { Placeholder } from '../components/placeholder';
import type { PageProps } from '../routes';

export function Overview(_: PageProps) {
  return <Placeholder title="Overview" what="Per callback: delivered, failed and pending over 24 h and 7 days; success rate and latency over time; the queue." api="GET /v1/stats" />;
}
