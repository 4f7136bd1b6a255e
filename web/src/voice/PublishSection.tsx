// Publishing to the SIP proxies (Kamailio): what Callplane last published, whether the configuration
// has changed since, what each proxy runs (read back from it), publish now, roll back to an earlier
// generation, and the proxies themselves. The server compiles, refuses and switches; this page asks
// before each change and shows the answer.
import { type FormEvent, useState } from "react";
import { apiGet, apiSend, useSession } from "../api.ts";
import { Badge, errorText, useAsync, when } from "../ui.tsx";
import { Field, FormError, useApiForm, useEditableList, useFocusOnOpen } from "./forms.tsx";
import type { PublishPlan, PublishResult, PublishStatus, SipProxy } from "./types.ts";

function ProxyForm({ onDone, onCancel }: { onDone: () => void; onCancel: () => void }) {
  const heading = useFocusOnOpen<HTMLHeadingElement>();
  const [d, setD] = useState({ name: "", rpcAddress: "127.0.0.1:5080", dataDir: "/var/lib/callplane/kamailio" });
  const { errors, busy, submit: run } = useApiForm(["name", "rpcAddress", "dataDir"]);
  function submit(e: FormEvent) {
    return run(e, async () => {
      await apiSend("POST", "/voice/proxies", d);
      onDone();
    });
  }
  return (
    <form onSubmit={submit} className="card" aria-labelledby="proxy-form-title" noValidate>
      <h3 id="proxy-form-title" ref={heading} tabIndex={-1}>
        New SIP proxy
      </h3>
      <div className="grid-2">
        <Field label="Name" error={errors.fields.name}>
          {(p) => <input {...p} type="text" required value={d.name} onChange={(e) => setD({ ...d, name: e.target.value })} />}
        </Field>
        <Field label="RPC address" error={errors.fields.rpcAddress} hint="HOST:PORT where Kamailio answers JSON-RPC over HTTP">
          {(p) => <input {...p} type="text" required value={d.rpcAddress} onChange={(e) => setD({ ...d, rpcAddress: e.target.value })} />}
        </Field>
        <Field label="Data folder" error={errors.fields.dataDir} hint="The folder of tables it reads, as in its kamailio.cfg">
          {(p) => <input {...p} type="text" required value={d.dataDir} onChange={(e) => setD({ ...d, dataDir: e.target.value })} />}
        </Field>
      </div>
      <FormError message={errors.general} />
      <div className="toolbar">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          Add proxy
        </button>
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

const CHANGE_LABELS: [keyof PublishPlan["changed"], string][] = [
  ["unroutable", "become unroutable"],
  ["routable", "become routable"],
  ["route", "change route"],
  ["gateways", "change gateways"],
  ["number", "change normalized number"],
];

function outcomeText(c: PublishPlan["examples"]["route"][number]["before"]): string {
  return c.route ? `${c.number} by ${c.route} → ${c.gateways.join(", ") || "no enabled gateway"}` : `${c.number || "—"}: ${c.reason}`;
}

/** The impact preview: how calls would change if the configuration were published now. */
function PlanResult({ plan }: { plan: PublishPlan }) {
  const changes = CHANGE_LABELS.filter(([k]) => plan.changed[k] > 0);
  return (
    <div className="card" role="status" data-testid="publish-plan">
      <p>
        Compared with {plan.liveGeneration === null ? "nothing published yet" : `generation ${plan.liveGeneration}`}:{" "}
        {plan.callers.toLocaleString("en")} callers × their likely destinations = {plan.destinations.toLocaleString("en")} calls, in{" "}
        {plan.ms} ms. <strong>{plan.unchanged.toLocaleString("en")}</strong> route as they do now.
      </p>
      {plan.refusals.length ? (
        <p className="error">The publish would be refused: {plan.refusals.map((r) => `${r.kind} "${r.name}": ${r.reason}`).join(" ")}</p>
      ) : null}
      {changes.length === 0 ? (
        <p>No call would change.</p>
      ) : (
        <table className="data">
          <caption className="sr-only">Calls that would change</caption>
          <thead>
            <tr>
              <th scope="col">Calls</th>
              <th scope="col">Change</th>
              <th scope="col">For example</th>
            </tr>
          </thead>
          <tbody>
            {changes.map(([k, label]) => (
              <tr key={k}>
                <td>{plan.changed[k].toLocaleString("en")}</td>
                <td>{label}</td>
                <td>
                  <ul>
                    {plan.examples[k].map((e) => (
                      <li key={`${e.user} ${e.dialled}`}>
                        {e.user} dialling <code>{e.dialled}</code>: {outcomeText(e.before)} ⇒ {outcomeText(e.after)}
                      </li>
                    ))}
                  </ul>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function ProxyState({ p }: { p: PublishStatus["proxies"][number] }) {
  if (!p.reachable) return <Badge tone="bad">unreachable</Badge>;
  if (p.matches) return <Badge tone="good">in step</Badge>;
  return <Badge tone="warn">drift</Badge>;
}

export function PublishSection() {
  const { can } = useSession();
  const canWrite = can("voice.write");
  const status = useAsync(() => apiGet<PublishStatus>("/voice/publish/status"), "voice-publish");
  const [result, setResult] = useState<PublishResult | null>(null);
  const [plan, setPlan] = useState<PublishPlan | null>(null);
  const preview = useApiForm([]);
  const [rollbackTo, setRollbackTo] = useState("");
  const { errors, busy, submit } = useApiForm([]);
  const list = useEditableList<SipProxy>(status.reload);

  function publish(e: FormEvent, rollback?: number) {
    const question =
      rollback === undefined
        ? "Publish the voice routing to every SIP proxy now? Calls that start after the switch follow the new configuration."
        : `Publish generation ${rollback}'s tables again, as a new generation?`;
    if (!window.confirm(question)) {
      e.preventDefault();
      return;
    }
    return submit(e, async () => {
      setResult(await apiSend<PublishResult>("POST", "/voice/publish", rollback === undefined ? {} : { rollback }));
      status.reload();
    });
  }

  const s = status.data;
  return (
    <section aria-labelledby="publish-title">
      <h2 id="publish-title">Publish to SIP proxies</h2>
      {status.error ? <FormError message={errorText(status.error)} /> : null}
      {!s ? (
        <p>Loading…</p>
      ) : (
        <>
          <p data-testid="publish-summary">
            {s.generation === null
              ? "Nothing has been published yet."
              : `Generation ${s.generation}${s.rollbackOf ? ` (a rollback to ${s.rollbackOf})` : ""}, published ${when(s.publishedAt)} by ${s.publishedBy}.`}{" "}
            {s.compileError ? (
              <Badge tone="bad">cannot be published as it is</Badge>
            ) : s.unpublishedChanges ? (
              <Badge tone="warn">unpublished changes</Badge>
            ) : (
              <Badge tone="good">published as it is</Badge>
            )}
          </p>
          {s.compileError ? <p className="error">{s.compileError}</p> : null}
          {canWrite ? (
            <form onSubmit={(e) => publish(e)} className="toolbar">
              <button type="submit" className="btn btn-primary" disabled={busy || s.proxies.length === 0}>
                Publish now
              </button>
              <button
                type="button"
                className="btn"
                disabled={preview.busy}
                onClick={(e) =>
                  preview.submit(e, async () => {
                    setPlan(await apiSend<PublishPlan>("POST", "/voice/publish/plan", {}));
                  })
                }
              >
                Preview impact
              </button>
              {s.history.length > 1 ? (
                <>
                  <label>
                    Roll back to{" "}
                    <select value={rollbackTo} onChange={(e) => setRollbackTo(e.target.value)}>
                      <option value="">(choose a generation)</option>
                      {s.history.slice(1).map((h) => (
                        <option key={h.generation} value={h.generation}>
                          {`${h.generation} — ${when(h.publishedAt)} by ${h.publishedBy}`}
                        </option>
                      ))}
                    </select>
                  </label>
                  <button
                    type="button"
                    className="btn"
                    disabled={busy || rollbackTo === ""}
                    onClick={(e) => publish(e, Number(rollbackTo))}
                  >
                    Roll back
                  </button>
                </>
              ) : null}
            </form>
          ) : null}
          <FormError message={errors.general} />
          <FormError message={preview.errors.general} />
          {plan ? <PlanResult plan={plan} /> : null}
          {result ? (
            <div className="card" role="status" data-testid="publish-result">
              <p>
                Published generation <strong>{result.generation}</strong>: {result.proxies.filter((p) => p.ok).length} of{" "}
                {result.proxies.length} proxies switched.
              </p>
              {result.warning ? <p className="warning">{result.warning}</p> : null}
            </div>
          ) : null}
          <h3>Proxies</h3>
          {canWrite && !list.form ? (
            <div className="toolbar">
              <button type="button" className="btn" onClick={list.openNew}>
                New proxy
              </button>
            </div>
          ) : null}
          <FormError message={list.error} />
          {list.form ? (
            <ProxyForm
              onCancel={list.close}
              onDone={() => {
                list.close();
                status.reload();
              }}
            />
          ) : null}
          {s.proxies.length === 0 ? (
            <p className="empty">
              No SIP proxy yet: start Kamailio with the configuration from <code>callplane kamailio config</code>, then add it here.
            </p>
          ) : (
            <table className="data">
              <caption className="sr-only">SIP proxies</caption>
              <thead>
                <tr>
                  <th scope="col">Proxy</th>
                  <th scope="col">RPC address</th>
                  <th scope="col">Runs generation</th>
                  <th scope="col">State</th>
                  <th scope="col">Details</th>
                  {canWrite ? <th scope="col">Actions</th> : null}
                </tr>
              </thead>
              <tbody>
                {s.proxies.map((p) => (
                  <tr key={p.name}>
                    <td>{p.name}</td>
                    <td>
                      <code>{p.rpcAddress}</code>
                    </td>
                    <td>{p.generation ?? "—"}</td>
                    <td>
                      <ProxyState p={p} />
                    </td>
                    <td>{[...p.drift, ...(p.lastError ? [`last publish: ${p.lastError}`] : [])].join("; ") || "—"}</td>
                    {canWrite ? (
                      <td>
                        <button
                          type="button"
                          className="btn btn-small"
                          onClick={() =>
                            list.remove(
                              `Remove the SIP proxy ${p.name} from the publish list?`,
                              `/voice/proxies/${encodeURIComponent(p.name)}`,
                            )
                          }
                        >
                          Remove
                        </button>
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
