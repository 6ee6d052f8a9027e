import { Placeholder } from '../components/placeholder';
import type { PageProps } from '../routes';

export function Deliveries(_: PageProps) {
  return <Placeholder title="Deliveries" what="Every delivery with its attempts, filters, live refresh and retry." api="GET /v1/deliveries" />;
}
