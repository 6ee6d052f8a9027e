import { Placeholder } from '../components/placeholder';
import type { PageProps } from '../routes';

export function Notices(_: PageProps) {
  return <Placeholder title="Notices" what="The log of notices sent (failures, recoveries, alerts, reports)." api="GET /v1/notices" />;
}
