import { Placeholder } from '../../components/placeholder';
import type { PageProps } from '../../routes';

export function CallbackDetail(_: PageProps) {
  return <Placeholder title="Callbacks" what="Callbacks." api="GET /v1/callbacks" />;
}
