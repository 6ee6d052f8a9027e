/** Small shared pieces: page header, state badges, copy and confirm buttons. */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

export function PageHeader({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <header class="page-header">
      <h1>{title}</h1>
      <div class="actions">{children}</div>
    </header>
  );
}

const TONES: Record<string, string> = {
  available: 'good',
  delivered: 'good',
  success: 'good',
  sent: 'good',
  recovery: 'good',
  failure: 'bad',
  alert: 'warn',
  active: 'good',
  revoked: 'muted',
  enabled: 'good',
  closed: 'good',
  unavailable: 'bad',
  failed: 'bad',
  permanent: 'bad',
  disabled: 'muted',
  open: 'bad',
  held: 'warn',
  pending: 'warn',
  retryable: 'warn',
  unknown: 'muted',
};

/** A word with a colour by meaning (available, failed, pending…); the word itself carries the meaning. */
export function Badge({ value, title }: { value: string; title?: string | undefined }) {
  return (
    <span class={`badge ${TONES[value] ?? 'muted'}`} title={title}>
      {value}
    </span>
  );
}

/** Copies `text`; says so for two seconds. */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      class="secondary small"
      onClick={async () => {
        await navigator.clipboard.writeText(text).catch(() => undefined);
        setDone(true);
        setTimeout(() => setDone(false), 2000);
      }}
    >
      {done ? 'Copied' : label}
    </button>
  );
}

/**
 * A button that asks first, in a modal <dialog> (focus moves into it, Escape cancels).
 * `onConfirm` runs only after the second, explicit button.
 */
export function ConfirmButton(props: { label: string; question: ComponentChildren; confirmLabel: string; onConfirm: () => void | Promise<void>; danger?: boolean; disabled?: boolean; small?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [open, setOpen] = useState(false);
  useEffect(() => {
    if (open) ref.current?.showModal();
    else ref.current?.close();
  }, [open]);
  return (
    <>
      <button type="button" class={`${props.danger ? 'danger' : 'secondary'}${props.small ? ' small' : ''}`} disabled={props.disabled} onClick={() => setOpen(true)}>
        {props.label}
      </button>
      <dialog ref={ref} onClose={() => setOpen(false)} aria-label={props.label}>
        <p>{props.question}</p>
        <div class="actions">
          <button
            type="button"
            class={props.danger ? 'danger' : 'primary'}
            onClick={async () => {
              setOpen(false);
              await props.onConfirm();
            }}
          >
            {props.confirmLabel}
          </button>
          <button type="button" class="secondary" onClick={() => setOpen(false)}>
            Cancel
          </button>
        </div>
      </dialog>
    </>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" role="status">
      Loading {what}…
    </p>
  );
}
