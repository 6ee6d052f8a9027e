import { href } from '../router';

/** A callback by its title (when known) linking to its page, its id beneath. */
export function CallbackLink({ id, title }: { id: string; title: string | undefined }) {
  return (
    <>
      <a href={href(`/callbacks/${id}`)} class={title ? undefined : 'mono'}>
        {title ?? id}
      </a>
      {title && <span class="sub mono">{id}</span>}
    </>
  );
}
