// A user's third-party provider entries on the user's page (`callplane conferencing acp show / set /
// remove`, Set-/Get-/Remove-CsUserAcp): the entries, a form to add or update one, and removal.
import { type FormEvent, useState } from "react";
import type { z } from "zod";
import type { acpEntryView } from "../../../src/conferencing/conferencing.schemas.ts";
import { ApiError, apiGet, apiSend, seg, useSession } from "../api.ts";
import type { Provider, User } from "../types.ts";
import { Badge, Empty, ErrorBox, Field, fieldError, Loading, useAsync } from "../ui.tsx";

type AcpEntry = z.infer<typeof acpEntryView>;

export function UserAcpSection({ user, version, onChange }: { user: User; version: number; onChange: () => void }) {
  const session = useSession();
  const upn = user.userPrincipalName;
  const entries = useAsync(() => apiGet<AcpEntry[]>(`/users/${seg(upn)}/acp`), `${upn}:acp-entries:${version}`);
  const providers = useAsync(() => apiGet<Provider[]>("/conferencing/providers"), "providers");
  const canWrite = session.can("conferencing.write");
  const thirdParty = (providers.data ?? []).filter((p) => !p.isMicrosoft);

  const [name, setName] = useState("");
  const [tollNumber, setTollNumber] = useState("");
  const [tollFree, setTollFree] = useState("");
  const [passcode, setPasscode] = useState("");
  const [url, setUrl] = useState("");
  const [isDefault, setIsDefault] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);

  const chosen = name || thirdParty[0]?.identity || "";

  const edit = (a: AcpEntry) => {
    setName(a.name);
    setTollNumber(a.tollNumber ?? "");
    setTollFree(a.tollFreeNumbers.join(", "));
    setPasscode(a.participantPasscode ?? "");
    setUrl(a.url ?? "");
    setIsDefault(a.isDefault);
    setError(null);
    document.getElementById("acp-form-h")?.focus();
  };

  const set = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      await apiSend<AcpEntry[]>("PUT", `/users/${seg(upn)}/acp`, {
        name: chosen,
        tollNumber: tollNumber.trim() || null,
        tollFreeNumbers: tollFree
          .split(",")
          .map((n) => n.trim())
          .filter(Boolean),
        participantPasscode: passcode.trim() || null,
        url: url.trim() || undefined,
        isDefault,
      });
      setDone(`The ${chosen} entry is saved.`);
      entries.reload();
      onChange();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const remove = async (entry?: string) => {
    const what = entry ? `the ${entry} entry` : "every third-party provider entry";
    if (!window.confirm(`Remove ${what} of ${user.displayName}?`)) return;
    setError(null);
    setDone(null);
    try {
      await apiSend<AcpEntry[]>("DELETE", `/users/${seg(upn)}/acp${entry ? `?name=${encodeURIComponent(entry)}` : ""}`);
      setDone(`Removed ${what}.`);
      entries.reload();
      onChange();
    } catch (err) {
      setError(err);
    }
  };

  // Messages about one input go next to it: the passcode by its wording, a number by the number it names.
  const numberError = (value: string) =>
    error instanceof ApiError && error.code === "service_number_invalid" && value.trim() && error.message.includes(value.trim())
      ? error.message
      : undefined;
  const passcodeError = fieldError(error, "participantPasscode", /^Participant passcode/);
  const tollError = fieldError(error, "tollNumber") ?? numberError(tollNumber);
  const tollFreeError =
    fieldError(error, "tollFreeNumbers") ??
    tollFree
      .split(",")
      .map(numberError)
      .find((m) => m !== undefined);
  const general = error && !passcodeError && !tollError && !tollFreeError ? error : null;
  const list = entries.data ?? [];

  return (
    <section className="card" aria-labelledby="acp-h">
      <h2 id="acp-h">Third-party provider entries</h2>
      {entries.loading && !entries.data && <Loading>Loading the provider entries…</Loading>}
      <ErrorBox error={entries.error} retry={entries.reload} />
      {entries.data && list.length === 0 && <Empty>This user has no third-party provider entry.</Empty>}
      {list.length > 0 && (
        <div className="table-wrap">
          <table className="data" id="acp-table">
            <thead>
              <tr>
                <th scope="col">Provider</th>
                <th scope="col">Toll number</th>
                <th scope="col">Toll-free numbers</th>
                <th scope="col">Participant passcode</th>
                <th scope="col">URL</th>
                {canWrite && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {list.map((a) => (
                <tr key={a.name}>
                  <th scope="row">
                    {a.name} {a.isDefault && <Badge tone="info">default</Badge>} <span className="muted">{a.domain}</span>
                  </th>
                  <td>{a.tollNumber ?? "—"}</td>
                  <td>{a.tollFreeNumbers.join(", ") || "—"}</td>
                  <td>{a.participantPasscode ?? "—"}</td>
                  <td>{a.url ?? "—"}</td>
                  {canWrite && (
                    <td>
                      <button type="button" className="btn-link" onClick={() => edit(a)}>
                        Edit<span className="sr-only"> the {a.name} entry</span>
                      </button>{" "}
                      <button type="button" className="btn-link" onClick={() => void remove(a.name)}>
                        Remove<span className="sr-only"> the {a.name} entry</span>
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {done && (
        <p className="success" role="status">
          {done}
        </p>
      )}
      {canWrite && (
        <>
          <h3 id="acp-form-h" tabIndex={-1}>
            Set a provider entry
          </h3>
          {providers.error ? <ErrorBox error={providers.error} retry={providers.reload} /> : null}
          {providers.data && thirdParty.length === 0 && (
            <Empty>The tenant has no third-party provider: add one on the Audio conferencing page.</Empty>
          )}
          {thirdParty.length > 0 && (
            <form onSubmit={(e) => void set(e)} aria-labelledby="acp-form-h">
              <div className="toolbar">
                <Field label="Third-party provider" error={fieldError(error, "name")}>
                  {(p) => (
                    <select {...p} value={chosen} onChange={(e) => setName(e.target.value)}>
                      {thirdParty.map((t) => (
                        <option key={t.identity} value={t.identity}>
                          {t.identity}
                        </option>
                      ))}
                    </select>
                  )}
                </Field>
                <Field label="Toll number" error={tollError}>
                  {(p) => <input {...p} value={tollNumber} placeholder="+14255550123" onChange={(e) => setTollNumber(e.target.value)} />}
                </Field>
                <Field label="Toll-free numbers" hint="comma-separated" error={tollFreeError}>
                  {(p) => <input {...p} value={tollFree} onChange={(e) => setTollFree(e.target.value)} />}
                </Field>
                <Field label="Participant passcode" error={passcodeError}>
                  {(p) => <input {...p} value={passcode} inputMode="numeric" onChange={(e) => setPasscode(e.target.value)} />}
                </Field>
                <Field label="Entry URL (optional)" error={fieldError(error, "url")}>
                  {(p) => <input {...p} value={url} onChange={(e) => setUrl(e.target.value)} />}
                </Field>
                <label className="check">
                  <input type="checkbox" checked={isDefault} onChange={(e) => setIsDefault(e.target.checked)} /> Default provider of this
                  user
                </label>
              </div>
              <div className="toolbar">
                <button type="submit" className="btn btn-primary" disabled={busy}>
                  {busy ? "Saving…" : "Set provider entry"}
                </button>
                {list.length > 1 && (
                  <button type="button" className="btn btn-danger" onClick={() => void remove()}>
                    Remove all entries
                  </button>
                )}
              </div>
            </form>
          )}
          <ErrorBox error={general} />
        </>
      )}
    </section>
  );
}
