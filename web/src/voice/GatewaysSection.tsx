// PSTN gateways (New-/Set-/Remove-CsOnlinePSTNGateway). The server applies the reference's defaults
// (disabled, 10 s failover, 408/503/504, SIP OPTIONS on) and refuses removing a gateway a route uses.
import { type FormEvent, useState } from "react";
import { apiSend, useSession } from "../api.ts";
import { Badge } from "../ui.tsx";
import { Check, Field, FormError, useApiForm, useEditableList, useFocusOnOpen } from "./forms.tsx";
import type { Gateway } from "./types.ts";

const FIELDS = [
  "fqdn",
  "signalingAddress",
  "sipSignalingPort",
  "enabled",
  "failoverTimeSeconds",
  "failoverResponseCodes",
  "maxConcurrentSessions",
];

interface Draft {
  fqdn: string;
  signalingAddress: string;
  sipSignalingPort: string;
  enabled: boolean;
  failoverTimeSeconds: string;
  failoverResponseCodes: string;
  maxConcurrentSessions: string;
}

const num = (s: string) => (s.trim() === "" ? undefined : Number(s));

function GatewayForm({ editing, onDone, onCancel }: { editing: Gateway | null; onDone: () => void; onCancel: () => void }) {
  const heading = useFocusOnOpen<HTMLHeadingElement>();
  const [d, setD] = useState<Draft>(
    editing
      ? {
          fqdn: editing.fqdn,
          signalingAddress: editing.signalingAddress ?? "",
          sipSignalingPort: String(editing.sipSignalingPort),
          enabled: editing.enabled,
          failoverTimeSeconds: String(editing.failoverTimeSeconds),
          failoverResponseCodes: editing.failoverResponseCodes,
          maxConcurrentSessions: editing.maxConcurrentSessions === null ? "" : String(editing.maxConcurrentSessions),
        }
      : {
          fqdn: "",
          signalingAddress: "",
          sipSignalingPort: "5061",
          enabled: false,
          failoverTimeSeconds: "",
          failoverResponseCodes: "",
          maxConcurrentSessions: "",
        },
  );
  const { errors, busy, submit: run } = useApiForm(FIELDS);
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => setD((x) => ({ ...x, [k]: v }));

  function submit(e: FormEvent) {
    const body = {
      signalingAddress: d.signalingAddress.trim() === "" ? (editing ? null : undefined) : d.signalingAddress.trim(),
      sipSignalingPort: num(d.sipSignalingPort),
      enabled: d.enabled,
      failoverTimeSeconds: num(d.failoverTimeSeconds),
      failoverResponseCodes: d.failoverResponseCodes.trim() === "" ? undefined : d.failoverResponseCodes,
      maxConcurrentSessions: d.maxConcurrentSessions.trim() === "" ? (editing ? null : undefined) : Number(d.maxConcurrentSessions),
    };
    return run(e, async () => {
      if (editing) await apiSend("PATCH", `/voice/gateways/${encodeURIComponent(editing.identity)}`, body);
      else await apiSend("POST", "/voice/gateways", { fqdn: d.fqdn.trim(), ...body });
      onDone();
    });
  }

  return (
    <form onSubmit={submit} className="card" aria-labelledby="gateway-form-title" noValidate>
      <h3 id="gateway-form-title" ref={heading} tabIndex={-1}>
        {editing ? `Change gateway ${editing.fqdn}` : "New PSTN gateway"}
      </h3>
      <div className="grid-2">
        {editing ? null : (
          <Field label="FQDN" error={errors.fields.fqdn} hint="The SBC's fully qualified domain name, at most 63 characters">
            {(p) => <input {...p} type="text" required value={d.fqdn} onChange={(e) => set("fqdn", e.target.value)} />}
          </Field>
        )}
        <Field
          label="Signalling address"
          error={errors.fields.signalingAddress}
          hint="Host name or IP address the SIP proxy sends calls to, when DNS has no entry for the FQDN. Empty: the FQDN"
        >
          {(p) => <input {...p} type="text" value={d.signalingAddress} onChange={(e) => set("signalingAddress", e.target.value)} />}
        </Field>
        <Field label="SIP signaling port" error={errors.fields.sipSignalingPort}>
          {(p) => <input {...p} type="number" value={d.sipSignalingPort} onChange={(e) => set("sipSignalingPort", e.target.value)} />}
        </Field>
        <Check
          label="Enabled (new gateways are disabled unless enabled here)"
          checked={d.enabled}
          onChange={(v) => set("enabled", v)}
          error={errors.fields.enabled}
        />
        <Field label="Failover time (seconds)" error={errors.fields.failoverTimeSeconds} hint={editing ? undefined : "Empty: 10"}>
          {(p) => <input {...p} type="number" value={d.failoverTimeSeconds} onChange={(e) => set("failoverTimeSeconds", e.target.value)} />}
        </Field>
        <Field
          label="Failover response codes"
          error={errors.fields.failoverResponseCodes}
          hint={editing ? undefined : "Empty: 408, 503, 504"}
        >
          {(p) => (
            <input {...p} type="text" value={d.failoverResponseCodes} onChange={(e) => set("failoverResponseCodes", e.target.value)} />
          )}
        </Field>
        <Field label="Maximum concurrent sessions" error={errors.fields.maxConcurrentSessions} hint="Empty: no limit">
          {(p) => (
            <input {...p} type="number" value={d.maxConcurrentSessions} onChange={(e) => set("maxConcurrentSessions", e.target.value)} />
          )}
        </Field>
      </div>
      <FormError message={errors.general} />
      <div className="toolbar">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {editing ? "Save gateway" : "Add gateway"}
        </button>
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

export function GatewaysSection({ gateways, onChanged }: { gateways: Gateway[]; onChanged: () => void }) {
  const { can } = useSession();
  const canWrite = can("voice.write");
  const { form, error, remove: removeAt, openNew, edit, close } = useEditableList<Gateway>(onChanged);

  const remove = (g: Gateway) => removeAt(`Remove the PSTN gateway ${g.fqdn}?`, `/voice/gateways/${encodeURIComponent(g.identity)}`);

  return (
    <div>
      {canWrite && !form ? (
        <div className="toolbar">
          <button type="button" className="btn btn-primary" onClick={openNew}>
            New gateway
          </button>
        </div>
      ) : null}
      <FormError message={error} />
      {form ? (
        <GatewayForm
          key={form.editing?.identity ?? "new"}
          editing={form.editing}
          onCancel={close}
          onDone={() => {
            close();
            onChanged();
          }}
        />
      ) : null}
      {gateways.length === 0 ? (
        <p className="empty">No PSTN gateways yet: add the SBCs your routes send calls to.</p>
      ) : (
        <table className="data">
          <caption className="sr-only">PSTN gateways</caption>
          <thead>
            <tr>
              <th scope="col">FQDN</th>
              <th scope="col">Port</th>
              <th scope="col">Enabled</th>
              <th scope="col">Failover</th>
              <th scope="col">SIP OPTIONS</th>
              <th scope="col">Media bypass</th>
              <th scope="col">Max sessions</th>
              {canWrite ? <th scope="col">Actions</th> : null}
            </tr>
          </thead>
          <tbody>
            {gateways.map((g) => (
              <tr key={g.identity}>
                <th scope="row">{g.fqdn}</th>
                <td>{g.sipSignalingPort}</td>
                <td>{g.enabled ? <Badge tone="good">enabled</Badge> : <Badge>disabled</Badge>}</td>
                <td>
                  {g.failoverTimeSeconds} s on {g.failoverResponseCodes}
                </td>
                <td>{g.sendSipOptions ? "on" : "off"}</td>
                <td>{g.mediaBypass ? "on" : "off"}</td>
                <td>{g.maxConcurrentSessions ?? "no limit"}</td>
                {canWrite ? (
                  <td>
                    <div className="row-actions">
                      <button type="button" className="btn" onClick={() => edit(g)} aria-label={`Edit gateway ${g.fqdn}`}>
                        Edit
                      </button>
                      <button type="button" className="btn btn-danger" onClick={() => remove(g)} aria-label={`Remove gateway ${g.fqdn}`}>
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
