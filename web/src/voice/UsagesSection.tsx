// PSTN usages (Set-CsOnlinePstnUsage): one ordered list per tenant. Removing a usage a route or a
// policy names is refused by the server, naming them; the refusal is shown as it comes.
import { type FormEvent, useState } from "react";
import { apiSend, useSession } from "../api.ts";
import { Field, FormError, formErrors, useApiForm } from "./forms.tsx";
import type { UsageList } from "./types.ts";

export function UsagesSection({ usages, onChanged }: { usages: string[]; onChanged: () => void }) {
  const { can } = useSession();
  const canWrite = can("voice.write");
  const [name, setName] = useState("");
  const [position, setPosition] = useState("end");
  const { errors, busy, submit } = useApiForm(["name", "position"]);
  const [listError, setListError] = useState<string | null>(null);

  const add = (e: FormEvent) =>
    submit(e, async () => {
      await apiSend<UsageList>("POST", "/voice/pstn-usages", {
        name: name.trim(),
        ...(position === "end" ? {} : { position: Number(position) }),
      });
      setName("");
      onChanged();
    });

  async function change(action: () => Promise<unknown>) {
    setListError(null);
    try {
      await action();
      onChanged();
    } catch (err) {
      setListError(formErrors(err, []).general);
    }
  }

  const reorder = (i: number, by: number) => {
    const next = [...usages];
    const [item] = next.splice(i, 1);
    if (item === undefined) return;
    next.splice(i + by, 0, item);
    return change(() => apiSend("PATCH", "/voice/pstn-usages", { replace: next }));
  };

  return (
    <div>
      <p>Usages are one ordered list for the tenant; a voice routing policy tries its usages in its own order.</p>
      <FormError message={listError} />
      {usages.length === 0 ? (
        <p className="empty">No PSTN usages yet: add one, then routes and policies can name it.</p>
      ) : (
        <ol className="usage-list">
          {usages.map((u, i) => (
            <li key={u}>
              <span className="usage-name">
                <span className="muted">{i + 1}.</span> {u}
              </span>
              {canWrite ? (
                <span className="toolbar-inline">
                  <button type="button" className="btn" disabled={i === 0} onClick={() => reorder(i, -1)} aria-label={`Move ${u} up`}>
                    ↑
                  </button>
                  <button
                    type="button"
                    className="btn"
                    disabled={i === usages.length - 1}
                    onClick={() => reorder(i, 1)}
                    aria-label={`Move ${u} down`}
                  >
                    ↓
                  </button>
                  <button
                    type="button"
                    className="btn btn-danger"
                    onClick={() => {
                      if (window.confirm(`Remove the PSTN usage ${u}?`)) {
                        void change(() => apiSend("DELETE", `/voice/pstn-usages/${encodeURIComponent(u)}`));
                      }
                    }}
                    aria-label={`Remove PSTN usage ${u}`}
                  >
                    Remove
                  </button>
                </span>
              ) : null}
            </li>
          ))}
        </ol>
      )}
      {canWrite ? (
        <form onSubmit={add} className="card" aria-labelledby="usage-add-title" noValidate>
          <h3 id="usage-add-title">Add a PSTN usage</h3>
          <div className="toolbar">
            <Field label="Name" error={errors.fields.name}>
              {(p) => <input {...p} type="text" required value={name} onChange={(e) => setName(e.target.value)} />}
            </Field>
            <Field label="Position" error={errors.fields.position}>
              {(p) => (
                <select {...p} value={position} onChange={(e) => setPosition(e.target.value)}>
                  <option value="end">At the end</option>
                  {usages.map((u, i) => (
                    <option key={u} value={String(i)}>
                      Before {u}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          </div>
          <FormError message={errors.general} />
          <button type="submit" className="btn btn-primary" disabled={busy}>
            Add usage
          </button>
        </form>
      ) : null}
    </div>
  );
}
