// Dial plans and their normalization rules. Patterns and translations are checked by the server
// (the translation may only name groups the pattern has); its message sits under the field.
import { type FormEvent, useState } from "react";
import { apiSend, useSession } from "../api.ts";
import { Badge } from "../ui.tsx";
import { Check, Field, FormError, formErrors, useApiForm, useFocusOnOpen, Warnings } from "./forms.tsx";
import type { DialPlan, Rule, RuleChange } from "./types.ts";

const RULE_FIELDS = ["name", "description", "pattern", "translation", "priority", "isInternalExtension"];

function RuleForm({
  plan,
  editing,
  onDone,
  onCancel,
}: {
  plan: DialPlan;
  editing: Rule | null;
  onDone: (warnings: string[]) => void;
  onCancel: () => void;
}) {
  const heading = useFocusOnOpen<HTMLHeadingElement>();
  const [name, setName] = useState(editing?.name ?? "");
  const [pattern, setPattern] = useState(editing?.pattern ?? "");
  const [translation, setTranslation] = useState(editing?.translation ?? "");
  const [priority, setPriority] = useState(editing ? String(editing.priority) : "");
  const [internal, setInternal] = useState(editing?.isInternalExtension ?? false);
  const { errors, busy, submit: run } = useApiForm(RULE_FIELDS, { identity: "name" });

  function submit(e: FormEvent) {
    const fields = {
      // On create, empty means "the default"; on edit the field is sent as it is (empty is refused by the server).
      ...(pattern !== "" || editing ? { pattern } : {}),
      ...(translation !== "" || editing ? { translation } : {}),
      ...(priority.trim() !== "" ? { priority: Number(priority) } : {}),
      isInternalExtension: internal,
    };
    return run(e, async () => {
      const res = editing
        ? await apiSend<RuleChange>("PATCH", `/voice/normalization-rules/${encodeURIComponent(editing.identity)}`, fields)
        : await apiSend<RuleChange>("POST", "/voice/normalization-rules", { identity: `${plan.identity}/${name.trim()}`, ...fields });
      onDone(res.warnings);
    });
  }

  return (
    <form
      onSubmit={submit}
      className="card"
      aria-label={editing ? `Change rule ${editing.name} of ${plan.identity}` : `New normalization rule in ${plan.identity}`}
      noValidate
    >
      <h4 ref={heading} tabIndex={-1}>
        {editing ? `Change rule ${editing.name}` : "New rule"}
      </h4>
      <div className="grid-2">
        {editing ? null : (
          <Field label="Rule name" error={errors.fields.name}>
            {(p) => <input {...p} type="text" required value={name} onChange={(e) => setName(e.target.value)} />}
          </Field>
        )}
        <Field label="Priority" error={errors.fields.priority} hint="Lowest wins; empty: after the last rule">
          {(p) => <input {...p} type="number" min={0} value={priority} onChange={(e) => setPriority(e.target.value)} />}
        </Field>
        <Field label="Pattern" error={errors.fields.pattern} hint={editing ? undefined : "Empty: ^(d{11})$"}>
          {(p) => (
            <input {...p} type="text" className="mono" spellCheck={false} value={pattern} onChange={(e) => setPattern(e.target.value)} />
          )}
        </Field>
        <Field
          label="Translation"
          error={errors.fields.translation}
          hint={editing ? "$1… name the pattern's groups" : "Empty: +$1 ($1… name the pattern's groups)"}
        >
          {(p) => (
            <input
              {...p}
              type="text"
              className="mono"
              spellCheck={false}
              value={translation}
              onChange={(e) => setTranslation(e.target.value)}
            />
          )}
        </Field>
        <Check label="Internal extension" checked={internal} onChange={setInternal} error={errors.fields.isInternalExtension} />
      </div>
      <FormError message={errors.general} />
      <div className="toolbar">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {editing ? "Save rule" : "Add rule"}
        </button>
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function PlanForm({ onDone, onCancel }: { onDone: () => void; onCancel: () => void }) {
  const heading = useFocusOnOpen<HTMLHeadingElement>();
  const [identity, setIdentity] = useState("");
  const [description, setDescription] = useState("");
  const { errors, busy, submit: run } = useApiForm(["identity", "description"]);
  const submit = (e: FormEvent) =>
    run(e, async () => {
      await apiSend("POST", "/voice/dial-plans", {
        identity: identity.trim(),
        description: description.trim() === "" ? null : description,
      });
      onDone();
    });
  return (
    <form onSubmit={submit} className="card" aria-labelledby="plan-form-title" noValidate>
      <h3 id="plan-form-title" ref={heading} tabIndex={-1}>
        New dial plan
      </h3>
      <div className="grid-2">
        <Field label="Name" error={errors.fields.identity} hint="Site:Name for a site plan, a plain name for a tenant (user) plan">
          {(p) => <input {...p} type="text" required value={identity} onChange={(e) => setIdentity(e.target.value)} />}
        </Field>
        <Field label="Description" error={errors.fields.description}>
          {(p) => <input {...p} type="text" value={description} onChange={(e) => setDescription(e.target.value)} />}
        </Field>
      </div>
      <p className="hint">A new plan has no rules until you add them.</p>
      <FormError message={errors.general} />
      <div className="toolbar">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          Add dial plan
        </button>
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function Plan({ plan, canWrite, onChanged }: { plan: DialPlan; canWrite: boolean; onChanged: () => void }) {
  const [form, setForm] = useState<{ editing: Rule | null } | null>(null);
  const [warnings, setWarnings] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const headingId = `plan-${plan.identity.replace(/[^A-Za-z0-9_-]/g, "-")}`;

  async function act(question: string, action: () => Promise<unknown>) {
    if (!window.confirm(question)) return;
    setError(null);
    try {
      await action();
      onChanged();
    } catch (err) {
      setError(formErrors(err, []).general);
    }
  }
  const removeRule = (r: Rule) =>
    act(`Remove the rule ${r.name} from ${plan.identity}?`, () =>
      apiSend("DELETE", `/voice/normalization-rules/${encodeURIComponent(r.identity)}`),
    );

  return (
    <section className="card" aria-labelledby={headingId}>
      <div className="page-header">
        <h3 id={headingId}>
          {plan.identity} <Badge>{plan.scope}</Badge>
        </h3>
        {canWrite ? (
          <div className="toolbar">
            {!form ? (
              <button
                type="button"
                className="btn"
                onClick={() => setForm({ editing: null })}
                aria-label={`Add a rule to ${plan.identity}`}
              >
                Add rule
              </button>
            ) : null}
            <button
              type="button"
              className="btn btn-danger"
              onClick={() =>
                act(
                  plan.identity === "Global"
                    ? "Clear every rule of the Global dial plan?"
                    : `Remove the dial plan ${plan.identity} and its rules?`,
                  () => apiSend("DELETE", `/voice/dial-plans/${encodeURIComponent(plan.identity)}`),
                )
              }
            >
              {plan.identity === "Global" ? "Clear" : "Remove"}
            </button>
          </div>
        ) : null}
      </div>
      {plan.description ? <p>{plan.description}</p> : null}
      <FormError message={error} />
      <Warnings warnings={warnings} />
      {form ? (
        <RuleForm
          key={form.editing?.identity ?? "new"}
          plan={plan}
          editing={form.editing}
          onCancel={() => setForm(null)}
          onDone={(w) => {
            setWarnings(w);
            setForm(null);
            onChanged();
          }}
        />
      ) : null}
      {plan.normalizationRules.length === 0 ? (
        <p className="empty">No normalization rules: numbers are routed as dialled.</p>
      ) : (
        <table className="data">
          <caption className="sr-only">Normalization rules of {plan.identity}, lowest priority (wins) first</caption>
          <thead>
            <tr>
              <th scope="col" aria-sort="ascending">
                Priority
              </th>
              <th scope="col">Rule</th>
              <th scope="col">Pattern</th>
              <th scope="col">Translation</th>
              <th scope="col">Internal extension</th>
              {canWrite ? <th scope="col">Actions</th> : null}
            </tr>
          </thead>
          <tbody>
            {plan.normalizationRules.map((r) => (
              <tr key={r.identity}>
                <td>{r.priority}</td>
                <th scope="row">{r.name}</th>
                <td>
                  <code>{r.pattern}</code>
                </td>
                <td>
                  <code>{r.translation}</code>
                </td>
                <td>{r.isInternalExtension ? "yes" : "no"}</td>
                {canWrite ? (
                  <td>
                    <div className="row-actions">
                      <button type="button" className="btn" onClick={() => setForm({ editing: r })} aria-label={`Edit rule ${r.name}`}>
                        Edit
                      </button>
                      <button type="button" className="btn btn-danger" onClick={() => removeRule(r)} aria-label={`Remove rule ${r.name}`}>
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
    </section>
  );
}

export function DialPlansSection({ dialPlans, onChanged }: { dialPlans: DialPlan[]; onChanged: () => void }) {
  const { can } = useSession();
  const canWrite = can("voice.write");
  const [adding, setAdding] = useState(false);
  return (
    <div>
      {canWrite && !adding ? (
        <div className="toolbar">
          <button type="button" className="btn btn-primary" onClick={() => setAdding(true)}>
            New dial plan
          </button>
        </div>
      ) : null}
      {adding ? (
        <PlanForm
          onCancel={() => setAdding(false)}
          onDone={() => {
            setAdding(false);
            onChanged();
          }}
        />
      ) : null}
      {dialPlans.map((p) => (
        <Plan key={p.identity} plan={p} canWrite={canWrite} onChanged={onChanged} />
      ))}
    </div>
  );
}
