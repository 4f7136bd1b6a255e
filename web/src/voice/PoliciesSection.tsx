// Voice routing policies: ordered PSTN usages per policy. Global always exists (removing it resets
// it); removing a policy users have is refused by the server with the count.
import { type FormEvent, useState } from "react";
import { apiSend, useSession } from "../api.ts";
import { Field, FormError, useApiForm, useEditableList, useFocusOnOpen } from "./forms.tsx";
import { OrderedPicker } from "./OrderedPicker.tsx";
import type { Policy } from "./types.ts";

const FIELDS = ["identity", "description", "pstnUsages"];

function PolicyForm({
  editing,
  usages,
  onDone,
  onCancel,
}: {
  editing: Policy | null;
  usages: string[];
  onDone: () => void;
  onCancel: () => void;
}) {
  const heading = useFocusOnOpen<HTMLHeadingElement>();
  const [identity, setIdentity] = useState(editing?.identity ?? "");
  const [description, setDescription] = useState(editing?.description ?? "");
  const [chosen, setChosen] = useState<string[]>(editing?.pstnUsages ?? []);
  const { errors, busy, submit: run } = useApiForm(FIELDS);

  function submit(e: FormEvent) {
    const body = { description: description.trim() === "" ? null : description, pstnUsages: chosen };
    return run(e, async () => {
      if (editing) await apiSend("PATCH", `/voice/routing-policies/${encodeURIComponent(editing.identity)}`, body);
      else await apiSend("POST", "/voice/routing-policies", { identity: identity.trim(), ...body });
      onDone();
    });
  }

  return (
    <form onSubmit={submit} className="card" aria-labelledby="policy-form-title" noValidate>
      <h3 id="policy-form-title" ref={heading} tabIndex={-1}>
        {editing ? `Change policy ${editing.identity}` : "New voice routing policy"}
      </h3>
      <div className="grid-2">
        {editing ? null : (
          <Field label="Name" error={errors.fields.identity} hint="Per-user policies only (Tag:Name is accepted)">
            {(p) => <input {...p} type="text" required value={identity} onChange={(e) => setIdentity(e.target.value)} />}
          </Field>
        )}
        <Field label="Description" error={errors.fields.description}>
          {(p) => <input {...p} type="text" value={description} onChange={(e) => setDescription(e.target.value)} />}
        </Field>
      </div>
      <OrderedPicker
        label="PSTN usages, in the order they are tried"
        options={usages}
        value={chosen}
        onChange={setChosen}
        error={errors.fields.pstnUsages}
        hint="The first usage with a matching route wins; later usages are only backup"
      />
      <FormError message={errors.general} />
      <div className="toolbar">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {editing ? "Save policy" : "Add policy"}
        </button>
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

export function PoliciesSection({ policies, usages, onChanged }: { policies: Policy[]; usages: string[]; onChanged: () => void }) {
  const { can } = useSession();
  const canWrite = can("voice.write");
  const { form, error, remove: removeAt, openNew, edit, close } = useEditableList<Policy>(onChanged);

  const remove = (p: Policy) =>
    removeAt(
      p.identity === "Global" ? "Reset the Global policy to no usages?" : `Remove the voice routing policy ${p.identity}?`,
      `/voice/routing-policies/${encodeURIComponent(p.identity)}`,
    );

  return (
    <div>
      {canWrite && !form ? (
        <div className="toolbar">
          <button type="button" className="btn btn-primary" onClick={openNew}>
            New policy
          </button>
        </div>
      ) : null}
      <FormError message={error} />
      {form ? (
        <PolicyForm
          key={form.editing?.identity ?? "new"}
          editing={form.editing}
          usages={usages}
          onCancel={close}
          onDone={() => {
            close();
            onChanged();
          }}
        />
      ) : null}
      <table className="data">
        <caption className="sr-only">Voice routing policies, Global first</caption>
        <thead>
          <tr>
            <th scope="col">Policy</th>
            <th scope="col">Scope</th>
            <th scope="col">PSTN usages (in order)</th>
            <th scope="col">Description</th>
            {canWrite ? <th scope="col">Actions</th> : null}
          </tr>
        </thead>
        <tbody>
          {policies.map((p) => (
            <tr key={p.identity}>
              <th scope="row">{p.identity}</th>
              <td>{p.scope}</td>
              <td>{p.pstnUsages.length ? p.pstnUsages.join(" → ") : <span className="empty">none: calls are not routed</span>}</td>
              <td>{p.description ?? ""}</td>
              {canWrite ? (
                <td>
                  <div className="row-actions">
                    <button type="button" className="btn" onClick={() => edit(p)} aria-label={`Edit policy ${p.identity}`}>
                      Edit
                    </button>
                    <button type="button" className="btn btn-danger" onClick={() => remove(p)} aria-label={`Remove policy ${p.identity}`}>
                      {p.identity === "Global" ? "Reset" : "Remove"}
                    </button>
                  </div>
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
