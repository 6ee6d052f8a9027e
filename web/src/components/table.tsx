/** Tables of API lists: a caption, a header per column, an empty line, and offset/limit pages. */
import type { ComponentChildren } from 'preact';

export interface Column<T> {
  header: string;
  cell: (row: T) => ComponentChildren;
  class?: string;
}

export function DataTable<T>({ caption, rows, columns, empty, rowKey }: { caption: string; rows: T[]; columns: Column<T>[]; empty: string; rowKey: (row: T) => string | number }) {
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col" class={c.class}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={columns.length} class="empty">
                {empty}
              </td>
            </tr>
          ) : (
            rows.map((r) => (
              <tr key={rowKey(r)}>
                {columns.map((c) => (
                  <td class={c.class}>{c.cell(r)}</td>
                ))}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}

/**
 * "21–40 of 312" with Previous / Next; `onOffset` gets the new offset. Pass the offset and limit of
 * the answer shown (`list.data.offset`), not of the one asked for, so the line matches the rows.
 * `exact: false` (the API's `total_exact`: it counted only up to a bound) shows "of 10,000+" and
 * keeps Next enabled.
 */
export function Pager({ total, offset, limit, onOffset, exact = true }: { total: number; offset: number; limit: number; onOffset: (offset: number) => void; exact?: boolean | undefined }) {
  if (total === 0) return null;
  return (
    <nav class="pager" aria-label="Pages">
      <span>
        {offset + 1}–{Math.min(offset + limit, total)} of {exact ? total : `${total.toLocaleString('en')}+`}
      </span>
      <button type="button" class="secondary small" disabled={offset === 0} onClick={() => onOffset(Math.max(0, offset - limit))}>
        Previous
      </button>
      <button type="button" class="secondary small" disabled={exact && offset + limit >= total} onClick={() => onOffset(offset + limit)}>
        Next
      </button>
    </nav>
  );
}
