import { PageHeader } from './ui';

/** A page not built yet: says what it will hold and where the API already offers it. */
export function Placeholder({ title, what, api }: { title: string; what: string; api: string }) {
  return (
    <section>
      <PageHeader title={title} />
      <div class="card">
        <p>{what}</p>
        <p class="help">
          Until this page is built, the same is available through the API: <code>{api}</code> (see <a href="/docs">/docs</a>).
        </p>
      </div>
    </section>
  );
}
