// Choosing an ordered list from a set (a policy's PSTN usages, a route's gateways): add from a
// select, move up or down, remove. Order matters for usages: the first usage with a matching
// route wins.
import { useId, useState } from "react";

interface Props {
  label: string;
  options: string[];
  value: string[];
  onChange: (value: string[]) => void;
  error?: string;
  hint?: string;
  /** Whether order matters (shows the move buttons). */
  ordered?: boolean;
}

export function OrderedPicker({ label, options, value, onChange, error, hint, ordered = true }: Props) {
  const id = useId();
  const left = options.filter((o) => !value.includes(o));
  const [pick, setPick] = useState("");
  const chosen = pick && left.includes(pick) ? pick : (left[0] ?? "");
  const move = (i: number, by: number) => {
    const next = [...value];
    const [item] = next.splice(i, 1);
    if (item === undefined) return;
    next.splice(i + by, 0, item);
    onChange(next);
  };
  const describedBy = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <fieldset className="field" aria-describedby={describedBy} aria-invalid={Boolean(error)}>
      <legend>{label}</legend>
      {value.length === 0 ? (
        <p className="empty">None chosen.</p>
      ) : (
        <ol className="picked">
          {value.map((v, i) => (
            <li key={v}>
              <span>{v}</span>{" "}
              {ordered ? (
                <>
                  <button type="button" className="btn" onClick={() => move(i, -1)} disabled={i === 0} aria-label={`Move ${v} up`}>
                    ↑
                  </button>
                  <button
                    type="button"
                    className="btn"
                    onClick={() => move(i, 1)}
                    disabled={i === value.length - 1}
                    aria-label={`Move ${v} down`}
                  >
                    ↓
                  </button>
                </>
              ) : null}
              <button type="button" className="btn" onClick={() => onChange(value.filter((x) => x !== v))} aria-label={`Remove ${v}`}>
                Remove
              </button>
            </li>
          ))}
        </ol>
      )}
      {left.length > 0 ? (
        <div className="toolbar">
          <label htmlFor={`${id}-add`} className="sr-only">
            {label}: add
          </label>
          <select id={`${id}-add`} value={chosen} onChange={(e) => setPick(e.target.value)}>
            {left.map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
          <button
            type="button"
            className="btn"
            onClick={() => chosen && onChange([...value, chosen])}
            aria-label={`Add ${chosen} to ${label}`}
          >
            Add
          </button>
        </div>
      ) : null}
      {hint ? (
        <small id={`${id}-hint`} className="hint">
          {hint}
        </small>
      ) : null}
      {error ? (
        <p id={`${id}-error`} className="field-error">
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}
