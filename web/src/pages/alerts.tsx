import { Placeholder } from '../components/placeholder';
import type { PageProps } from '../routes';

export function Alerts(_: PageProps) {
  return <Placeholder title="Alerts" what="Alert rules" api=" authentication timeout, low verification rate, insufficient balance.:GET /v1/alert-rules" />;
}
