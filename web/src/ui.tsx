// Small building blocks every page shares: the loading, error and empty states, form fields with
// the API's field-level messages, and a hook for data that loads when its key changes.
import { type ReactNode, useCallback, useEffect, useId, useRef, useState } from "react";
import { ApiError } from "./api.ts";

export interface Async<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Calls `load` now and whenever `key` changes; the latest call wins, earlier answers are dropped. */
export function useAsync<T>(load: () => Promise<T>, key: string): Async<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const ref = useRef(load);
  ref.current = load;
  // biome-ignore lint/correctness/useExhaustiveDependencies: key and tick are the triggers; load is read through a ref
  useEffect(() => {
    let live = true;
    setLoading(true);
    ref.current().then(
      (d) => {
        if (!live) return;
        setData(d);
        setError(undefined);
        setLoading(false);
      },
      (e: unknown) => {
        if (!live) return;
        setError(e);
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [key, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return `The server could not be reached: ${error.message}`;
  return "Something went wrong.";
}

export function Loading({ children = "Loading…" }: { children?: ReactNode }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      {children}
    </p>
  );
}

export function ErrorBox({ error, retry }: { error: unknown; retry?: () => void }) {
  if (!error) return null;
  return (
    <div className="error" role="alert">
      <span>{errorText(error)}</span>
      {retry && (
        <button type="button" className="btn" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/**
 * The message for a field: from the API error's details (path `body.field`), or else, when the
 * message is about that field (`mentions`, e.g. /^PIN length/), the message itself — so it is shown
 * next to the field it is about rather than at the top of the form.
 */
export function fieldError(error: unknown, field: string, mentions?: RegExp): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  const named = error.fieldMessage(field);
  if (named) return named;
  // When the API names the field an error is about, wording is never used to guess another one.
  if (error.details.some((d) => d.path)) return undefined;
  return mentions?.test(error.message) ? error.message : undefined;
}

/** A labelled control with its error message announced with it (aria-describedby). */
export function Field({
  label,
  error,
  hint,
  children,
}: {
  label: string;
  error?: string;
  hint?: string;
  children: (props: { id: string; "aria-invalid": boolean; "aria-describedby"?: string }) => ReactNode;
}) {
  const id = useId();
  const describedBy = [error ? `${id}-error` : "", hint ? `${id}-hint` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-invalid": Boolean(error), "aria-describedby": describedBy })}
      {hint && (
        <span className="hint" id={`${id}-hint`}>
          {hint}
        </span>
      )}
      {error && (
        <span className="field-error" id={`${id}-error`}>
          {error}
        </span>
      )}
    </div>
  );
}

export function Badge({ tone = "neutral", children }: { tone?: "neutral" | "good" | "warn" | "bad" | "info"; children: ReactNode }) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="page-header">
      <h1 tabIndex={-1}>{title}</h1>
      {children && <div className="page-actions">{children}</div>}
    </div>
  );
}

export const fmt = new Intl.NumberFormat("en");

export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  return new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
}
