// Form pieces shared by the voice and sync pages: labelled fields whose API error sits next to them,
// and the mapping of an API error onto the form's fields. The rules stay on the server: a form
// only shows what the API said, next to the field it named.
import { useEffect, useId, useRef, useState } from "react";
import { ApiError, apiSend } from "../api.ts";
import { errorText } from "../ui.tsx";

export { Field } from "../ui.tsx";

export interface FormErrors {
  /** The message for each field the API named. */
  fields: Record<string, string>;
  /** What could not be put next to a field. */
  general: string | null;
}

export const noErrors: FormErrors = { fields: {}, general: null };

/**
 * Puts an API error next to the fields it names. Details name a field as `body.numberPattern` (request
 * validation) or `pattern` (the service); `aliases` maps the service's names onto the form's fields.
 * With one detail, the field gets the whole message (it says what is wrong and what to do).
 */
export function formErrors(error: unknown, fields: readonly string[], aliases: Record<string, string> = {}): FormErrors {
  if (!(error instanceof ApiError)) return { fields: {}, general: errorText(error) };
  const out: Record<string, string> = {};
  const details = error.details ?? [];
  for (const d of details) {
    const last = (d.path ?? "").replace(/^body\.?/, "").split(".")[0] ?? "";
    const field = aliases[last] ?? last;
    if (!fields.includes(field) || out[field]) continue;
    out[field] = details.length === 1 ? error.message : d.message;
  }
  // One detail placed by its field says it all; otherwise the whole message also goes above the form.
  const placedAll = Object.keys(out).length > 0 && details.length === 1;
  return { fields: out, general: placedAll ? null : error.message };
}

/** The form-level error (role=alert so a screen reader hears it when a save fails). */
export function FormError({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <div className="error" role="alert">
      <p>{message}</p>
    </div>
  );
}

/** Warnings the API returned with a change (e.g. a priority that moved other routes). */
export function Warnings({ warnings }: { warnings: string[] }) {
  if (warnings.length === 0) return null;
  return (
    <div className="card" role="status">
      <p>
        <strong>Saved, with {warnings.length === 1 ? "a warning" : "warnings"}:</strong>
      </p>
      <ul>
        {warnings.map((w) => (
          <li key={w}>{w}</li>
        ))}
      </ul>
    </div>
  );
}

/**
 * A ref for a form's heading that takes the focus when the form opens, so keyboard and screen-reader
 * users land in the form they just opened (the heading has tabIndex -1).
 */
export function useFocusOnOpen<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return ref;
}

/** A checkbox with its label beside it, and the API's message for it. */
export function Check({
  label,
  checked,
  onChange,
  error,
}: {
  label: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
  error?: string;
}) {
  const id = useId();
  return (
    <div className="field">
      <label className="check" htmlFor={id}>
        <input
          id={id}
          type="checkbox"
          checked={checked}
          onChange={(e) => onChange(e.target.checked)}
          aria-invalid={Boolean(error)}
          aria-describedby={error ? `${id}-error` : undefined}
        />
        {label}
      </label>
      {error ? (
        <span className="field-error" id={`${id}-error`}>
          {error}
        </span>
      ) : null}
    </div>
  );
}

/**
 * A form that saves through the API: `busy` while saving, and the API's refusal put next to the fields
 * it names (`fields`, with `aliases` mapping the service's names onto the form's).
 */
export function useApiForm(fields: readonly string[], aliases: Record<string, string> = {}) {
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [busy, setBusy] = useState(false);
  /** Runs `save` for the form's submit event; its errors land on the fields. */
  async function submit(e: { preventDefault(): void }, save: () => Promise<void>) {
    e.preventDefault();
    setBusy(true);
    setErrors(noErrors);
    try {
      await save();
    } catch (err) {
      setErrors(formErrors(err, fields, aliases));
    } finally {
      setBusy(false);
    }
  }
  return { errors, busy, submit };
}

/**
 * The state of a list section with one create/edit form and a remove action per row: which item the
 * form edits (null: a new one), and the error of the last removal.
 */
export function useEditableList<T>(onChanged: () => void) {
  const [form, setForm] = useState<{ editing: T | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  /** Asks `question`, then DELETEs `path` (under /api/v1); the API's refusal is shown above the list. */
  async function remove(question: string, path: string) {
    if (!window.confirm(question)) return;
    setError(null);
    try {
      await apiSend("DELETE", path);
      onChanged();
    } catch (err) {
      setError(formErrors(err, []).general);
    }
  }
  return {
    form,
    error,
    remove,
    openNew: () => setForm({ editing: null }),
    edit: (item: T) => setForm({ editing: item }),
    close: () => setForm(null),
  };
}
