// Voice routes (New-/Set-/Remove-CsOnlineVoiceRoute): the list by priority and one form for create
// and edit. Patterns are checked by the server's linear-time engine; its refusal (with the reason
// and the fix) is shown under the pattern field.
import { type FormEvent, useState } from "react";
import { apiSend, useSession } from "../api.ts";
import { Check, Field, FormError, useApiForm, useEditableList, useFocusOnOpen, Warnings } from "./forms.tsx";
import { OrderedPicker } from "./OrderedPicker.tsx";
import type { Gateway, Route, RouteChange } from "./types.ts";

const FIELDS = ["name", "description", "numberPattern", "priority", "pstnUsages", "pstnGateways", "suppressCallerId", "alternateCallerId"];
const ALIASES = { pattern: "numberPattern" };

interface Draft {
  name: string;
  description: string;
  numberPattern: string;
  priority: string;
  pstnUsages: string[];
  pstnGateways: string[];
  suppressCallerId: boolean;
  alternateCallerId: string;
}

const empty: Draft = {
  name: "",
  description: "",
  numberPattern: "",
  priority: "",
  pstnUsages: [],
  pstnGateways: [],
  suppressCallerId: false,
  alternateCallerId: "",
};

function draftOf(r: Route): Draft {
  return {
    name: r.name,
    description: r.description ?? "",
    numberPattern: r.numberPattern,
    priority: String(r.priority),
    pstnUsages: r.pstnUsages,
    pstnGateways: r.pstnGateways,
    suppressCallerId: r.suppressCallerId,
    alternateCallerId: r.alternateCallerId ?? "",
  };
}

function RouteForm({
  editing,
  usages,
  gateways,
  onDone,
  onCancel,
}: {
  editing: Route | null;
  usages: string[];
  gateways: Gateway[];
  onDone: (warnings: string[]) => void;
  onCancel: () => void;
}) {
  const heading = useFocusOnOpen<HTMLHeadingElement>();
  const [d, setD] = useState<Draft>(editing ? draftOf(editing) : empty);
  const { errors, busy, submit: run } = useApiForm(FIELDS, ALIASES);
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => setD((x) => ({ ...x, [k]: v }));

  function submit(e: FormEvent) {
    // Empty text means "not given" on create (the server's defaults apply) and "cleared" on edit.
    const priority = d.priority.trim() === "" ? undefined : Number(d.priority);
    const body = {
      description: d.description.trim() === "" ? null : d.description,
      ...(d.numberPattern !== "" || editing ? { numberPattern: d.numberPattern } : {}),
      ...(priority !== undefined ? { priority } : {}),
      pstnUsages: d.pstnUsages,
      pstnGateways: d.pstnGateways,
      suppressCallerId: d.suppressCallerId,
      alternateCallerId: d.alternateCallerId.trim() === "" ? null : d.alternateCallerId.trim(),
    };
    return run(e, async () => {
      const res = editing
        ? await apiSend<RouteChange>("PATCH", `/voice/routes/${encodeURIComponent(editing.identity)}`, body)
        : await apiSend<RouteChange>("POST", "/voice/routes", { name: d.name.trim(), ...body });
      onDone(res.warnings);
    });
  }

  return (
    <form onSubmit={submit} className="card" aria-labelledby="route-form-title" noValidate>
      <h3 id="route-form-title" ref={heading} tabIndex={-1}>
        {editing ? `Change route ${editing.name}` : "New voice route"}
      </h3>
      <div className="grid-2">
        {editing ? null : (
          <Field label="Name" error={errors.fields.name}>
            {(p) => <input {...p} type="text" required value={d.name} onChange={(e) => set("name", e.target.value)} />}
          </Field>
        )}
        <Field label="Description" error={errors.fields.description}>
          {(p) => <input {...p} type="text" value={d.description} onChange={(e) => set("description", e.target.value)} />}
        </Field>
        <Field
          label="Number pattern"
          error={errors.fields.numberPattern}
          hint={editing ? "A regular expression the normalized number must match" : "Empty: the default [0-9]{10}"}
        >
          {(p) => (
            <input
              {...p}
              type="text"
              spellCheck={false}
              className="mono"
              value={d.numberPattern}
              onChange={(e) => set("numberPattern", e.target.value)}
            />
          )}
        </Field>
        <Field label="Priority" error={errors.fields.priority} hint="Lowest is tried first; empty: after the last route">
          {(p) => <input {...p} type="number" min={0} step={1} value={d.priority} onChange={(e) => set("priority", e.target.value)} />}
        </Field>
      </div>
      <div className="grid-2">
        <OrderedPicker
          label="PSTN usages"
          options={usages}
          value={d.pstnUsages}
          onChange={(v) => set("pstnUsages", v)}
          error={errors.fields.pstnUsages}
          ordered={false}
        />
        <OrderedPicker
          label="PSTN gateways"
          options={gateways.map((g) => g.fqdn)}
          value={d.pstnGateways}
          onChange={(v) => set("pstnGateways", v)}
          error={errors.fields.pstnGateways}
          ordered={false}
          hint="Tried in random order"
        />
      </div>
      <div className="grid-2">
        <Check
          label="Suppress caller ID"
          checked={d.suppressCallerId}
          onChange={(v) => set("suppressCallerId", v)}
          error={errors.fields.suppressCallerId}
        />
        <Field label="Alternate caller ID" error={errors.fields.alternateCallerId} hint="Shown instead when caller ID is suppressed">
          {(p) => <input {...p} type="text" value={d.alternateCallerId} onChange={(e) => set("alternateCallerId", e.target.value)} />}
        </Field>
      </div>
      <FormError message={errors.general} />
      <div className="toolbar">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Saving…" : editing ? "Save route" : "Add route"}
        </button>
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

export function RoutesSection({
  routes,
  usages,
  gateways,
  onChanged,
}: {
  routes: Route[];
  usages: string[];
  gateways: Gateway[];
  onChanged: () => void;
}) {
  const { can } = useSession();
  const canWrite = can("voice.write");
  const { form, error, remove: removeAt, openNew, edit, close } = useEditableList<Route>(onChanged);
  const [warnings, setWarnings] = useState<string[]>([]);

  const remove = (r: Route) => removeAt(`Remove the voice route ${r.name}?`, `/voice/routes/${encodeURIComponent(r.identity)}`);

  return (
    <div>
      <div className="toolbar">
        {canWrite && !form ? (
          <button type="button" className="btn btn-primary" onClick={openNew}>
            New route
          </button>
        ) : null}
      </div>
      <Warnings warnings={warnings} />
      <FormError message={error} />
      {form ? (
        <RouteForm
          key={form.editing?.identity ?? "new"}
          editing={form.editing}
          usages={usages}
          gateways={gateways}
          onCancel={close}
          onDone={(w) => {
            setWarnings(w);
            close();
            onChanged();
          }}
        />
      ) : null}
      {routes.length === 0 ? (
        <p className="empty">No voice routes yet: calls from users with Phone System only would be dropped.</p>
      ) : (
        <table className="data">
          <caption className="sr-only">Voice routes, lowest priority (tried first) first</caption>
          <thead>
            <tr>
              <th scope="col" aria-sort="ascending">
                Priority
              </th>
              <th scope="col">Name</th>
              <th scope="col">Number pattern</th>
              <th scope="col">PSTN usages</th>
              <th scope="col">Gateways</th>
              <th scope="col">Description</th>
              {canWrite ? <th scope="col">Actions</th> : null}
            </tr>
          </thead>
          <tbody>
            {routes.map((r) => (
              <tr key={r.identity}>
                <td>{r.priority}</td>
                <th scope="row">{r.name}</th>
                <td>
                  <code>{r.numberPattern}</code>
                </td>
                <td>{r.pstnUsages.join(", ") || "—"}</td>
                <td>{r.pstnGateways.join(", ") || "—"}</td>
                <td>{r.description ?? ""}</td>
                {canWrite ? (
                  <td>
                    <div className="row-actions">
                      <button type="button" className="btn" onClick={() => edit(r)} aria-label={`Edit route ${r.name}`}>
                        Edit
                      </button>
                      <button type="button" className="btn btn-danger" onClick={() => remove(r)} aria-label={`Remove route ${r.name}`}>
                        Remove
                      </button>
                    </div>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
