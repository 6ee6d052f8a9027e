import { Placeholder } from '../components/placeholder';
import type { PageProps } from '../routes';

export function Events(_: PageProps) {
  return <Placeholder title="Events" what="Events sent, searched by type, resource id and time, with their deliveries; send a test event." api="GET /v1/events" />;
}
