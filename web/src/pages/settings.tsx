import { Placeholder } from '../components/placeholder';
import type { PageProps } from '../routes';

export function Settings(_: PageProps) {
  return <Placeholder title="Settings" what="Account e-mail and Telegram, callback reports, api users and keys." api="GET /v1/account" />;
}
