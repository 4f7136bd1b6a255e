// The loading, error and loaded states of a section, in one place for the B2 pages, on top of the
// shell's useAsync, Loading and ErrorBox (ui.tsx).
import type { ReactNode } from "react";
import { type Async, ErrorBox, Loading, when } from "../ui.tsx";

/** Renders the loading and error states, then `children(data)` once there is data (an error on reload keeps the data). */
export function Load<T>({ state, what, children }: { state: Async<T>; what: string; children: (data: T) => ReactNode }) {
  return (
    <>
      {state.error !== undefined ? <ErrorBox error={state.error} retry={state.reload} /> : null}
      {state.data === undefined ? state.error === undefined ? <Loading>Loading {what}…</Loading> : null : children(state.data)}
    </>
  );
}

/** A date and time for people, with the exact ISO value in a tooltip and for machines. */
export function When({ iso }: { iso: string | null }) {
  if (!iso) return <span>—</span>;
  return (
    <time dateTime={iso} title={iso}>
      {when(iso)}
    </time>
  );
}
