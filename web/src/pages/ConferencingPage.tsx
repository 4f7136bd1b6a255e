// Audio conferencing: the seed's banner and its move, the bridges and their service numbers, the
// tenant's conferencing settings, and the providers.
import { type FormEvent, useEffect, useState } from "react";
import { apiGet, apiSend, seg, useSession } from "../api.ts";
import { BulkMove } from "../BulkMove.tsx";
import { Link } from "../router.tsx";
import type { Bridge, Provider, Settings, SettingsPatch, Summary } from "../types.ts";
import { Badge, Empty, ErrorBox, Field, fieldError, fmt, Loading, PageHeader, useAsync } from "../ui.tsx";

export default function ConferencingPage() {
  const [version, setVersion] = useState(0);
  const summary = useAsync(() => apiGet<Summary>("/conferencing/summary"), `summary:${version}`);
  const [moving, setMoving] = useState(false);

  return (
    <div className="page">
      <PageHeader title="Audio conferencing" />
      <ErrorBox error={summary.error} retry={summary.reload} />
      {summary.loading && !summary.data && <Loading />}
      {summary.data?.banner && (
        <section className="banner" aria-label="Users to move">
          <span>{summary.data.banner}</span>
          <button type="button" className="btn btn-primary" onClick={() => setMoving(!moving)} aria-expanded={moving}>
            Click here to move them
          </button>
          <Link to="/users?view=ready">See them in Users</Link>
        </section>
      )}
      {summary.data && !summary.data.banner && (
        <p className="success" role="status">
          Every user with an Audio Conferencing licence has Microsoft as their audio conferencing provider.
        </p>
      )}
      {moving && summary.data?.banner && (
        <BulkMove
          source={{ ready: true }}
          what={`the ${fmt.format(summary.data.readyForAudioConferencing)} users who have an Audio Conferencing licence but don't have Microsoft as their provider`}
          onDone={() => setVersion((v) => v + 1)}
        />
      )}
      {summary.data && (
        <section className="card" aria-labelledby="byprov-h">
          <h2 id="byprov-h">Users by provider</h2>
          <dl className="props">
            {Object.entries(summary.data.byProvider).map(([p, n]) => (
              <div key={p} style={{ display: "contents" }}>
                <dt>{p}</dt>
                <dd>
                  <Link to={`/users?provider=${encodeURIComponent(p === "None" ? "none" : p)}`}>{fmt.format(n)}</Link>
                </dd>
              </div>
            ))}
          </dl>
        </section>
      )}
      <Bridges />
      <div className="grid-2">
        <SettingsCard />
        <Providers />
      </div>
    </div>
  );
}

function Bridges() {
  const session = useSession();
  const bridges = useAsync(() => apiGet<Bridge[]>("/conferencing/bridges"), "bridges");
  const [error, setError] = useState<unknown>(null);
  const [number, setNumber] = useState("");
  const [type, setType] = useState<"toll" | "toll-free">("toll");
  const [city, setCity] = useState("");
  const [country, setCountry] = useState("");
  const canWrite = session.can("conferencing.write");

  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      bridges.reload();
      return true;
    } catch (e) {
      setError(e);
      return false;
    }
  };

  const add = async (e: FormEvent, bridge: string) => {
    e.preventDefault();
    const ok = await act(() =>
      apiSend("POST", "/conferencing/service-numbers", { number, type, bridge, city: city || undefined, country: country || undefined }),
    );
    if (ok) {
      setNumber("");
      setCity("");
    }
  };

  return (
    <section className="card" aria-labelledby="bridges-h">
      <h2 id="bridges-h">Bridges and service numbers</h2>
      {bridges.loading && !bridges.data && <Loading />}
      <ErrorBox error={bridges.error} retry={bridges.reload} />
      {bridges.data?.length === 0 && <Empty>No bridge yet: create one with `callplane conferencing bridges create`.</Empty>}
      {bridges.data?.map((b) => (
        <div key={b.id}>
          <h3>
            {b.name} {b.isDefault && <Badge tone="info">default bridge</Badge>}
          </h3>
          <p className="muted">
            Conference IDs of {b.conferenceIdLength} digits. Default toll number: {b.defaultServiceNumber ?? "none"}; default toll-free
            number: {b.defaultTollFreeServiceNumber ?? "none"}.
          </p>
          {b.serviceNumbers.length === 0 ? (
            <Empty>This bridge has no service numbers.</Empty>
          ) : (
            <div className="table-wrap">
              <table className="data">
                <thead>
                  <tr>
                    <th scope="col">Number</th>
                    <th scope="col">Type</th>
                    <th scope="col">City</th>
                    <th scope="col">Country</th>
                    <th scope="col">Languages</th>
                    {canWrite && <th scope="col">Actions</th>}
                  </tr>
                </thead>
                <tbody>
                  {b.serviceNumbers.map((n) => {
                    const isDefault = n.number === (n.type === "toll" ? b.defaultServiceNumber : b.defaultTollFreeServiceNumber);
                    return (
                      <tr key={n.number}>
                        <td>
                          {n.number} {isDefault && <Badge tone="good">default</Badge>}
                        </td>
                        <td>{n.type}</td>
                        <td>{n.city ?? "—"}</td>
                        <td>{n.country ?? "—"}</td>
                        <td>{[n.primaryLanguage, ...n.secondaryLanguages].join(", ")}</td>
                        {canWrite && (
                          <td>
                            {!isDefault && (
                              <button
                                type="button"
                                className="btn-link"
                                onClick={() =>
                                  void act(() =>
                                    apiSend(
                                      "PATCH",
                                      `/conferencing/bridges/${seg(b.name)}`,
                                      n.type === "toll" ? { defaultServiceNumber: n.number } : { defaultTollFreeServiceNumber: n.number },
                                    ),
                                  )
                                }
                              >
                                Make default<span className="sr-only"> {n.number}</span>
                              </button>
                            )}{" "}
                            <button
                              type="button"
                              className="btn-link"
                              onClick={() => void act(() => apiSend("DELETE", `/conferencing/service-numbers/${seg(n.number)}`))}
                            >
                              Remove<span className="sr-only"> {n.number}</span>
                            </button>
                          </td>
                        )}
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
          {canWrite && (
            <form className="toolbar" onSubmit={(e) => void add(e, b.name)} aria-label={`Add a service number to ${b.name}`}>
              <Field label="Number" error={fieldError(error, "number")}>
                {(p) => <input {...p} value={number} required placeholder="+14255550100" onChange={(e) => setNumber(e.target.value)} />}
              </Field>
              <Field label="Type">
                {(p) => (
                  <select {...p} value={type} onChange={(e) => setType(e.target.value === "toll-free" ? "toll-free" : "toll")}>
                    <option value="toll">Toll</option>
                    <option value="toll-free">Toll-free</option>
                  </select>
                )}
              </Field>
              <Field label="City">{(p) => <input {...p} value={city} onChange={(e) => setCity(e.target.value)} />}</Field>
              <Field label="Country" error={fieldError(error, "country")}>
                {(p) => <input {...p} value={country} maxLength={2} size={3} onChange={(e) => setCountry(e.target.value)} />}
              </Field>
              <button type="submit" className="btn">
                Add number
              </button>
            </form>
          )}
        </div>
      ))}
      <ErrorBox error={error} />
    </section>
  );
}

function SettingsCard() {
  const session = useSession();
  const settings = useAsync(() => apiGet<Settings>("/conferencing/settings"), "settings");
  const [draft, setDraft] = useState<Settings | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const canWrite = session.can("conferencing.write");
  useEffect(() => setDraft(settings.data ?? null), [settings.data]);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (!draft || !settings.data) return;
    setError(null);
    setSaved(false);
    const patch: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(draft) as [keyof Settings, unknown][]) if (v !== settings.data[k]) patch[k] = v;
    try {
      await apiSend("PATCH", "/conferencing/settings", patch as SettingsPatch);
      setSaved(true);
      settings.reload();
    } catch (err) {
      setError(err);
    }
  };
  const pinError = fieldError(error, "pinLength", /^PIN length/i);
  const bool = (k: keyof Settings, label: string) =>
    draft && (
      <label className="check">
        <input
          type="checkbox"
          disabled={!canWrite}
          checked={Boolean(draft[k])}
          onChange={(e) => setDraft({ ...draft, [k]: e.target.checked })}
        />{" "}
        {label}
      </label>
    );

  return (
    <section className="card" aria-labelledby="settings-h">
      <h2 id="settings-h">Conferencing settings</h2>
      {settings.loading && !settings.data && <Loading />}
      <ErrorBox error={settings.error} retry={settings.reload} />
      {draft && (
        <form onSubmit={save}>
          <Field label="PIN length (4–12 digits, for new PINs)" error={pinError}>
            {(p) => (
              <input
                {...p}
                type="number"
                disabled={!canWrite}
                value={draft.pinLength}
                onChange={(e) => setDraft({ ...draft, pinLength: Number(e.target.value) })}
              />
            )}
          </Field>
          {bool("automaticallySendEmailsToUsers", "Automatically send emails to users")}
          {bool("automaticallyReplaceAcpProvider", "Automatically replace a third-party provider when a licence is assigned")}
          {bool("allowPstnOnlyMeetingsByDefault", "Allow PSTN-only meetings by default")}
          {bool("enableEntryExitNotifications", "Entry and exit notifications")}
          {bool("enableNameRecording", "Name recording")}
          {bool("sendEmailFromOverride", "Send emails from another address")}
          {draft.sendEmailFromOverride && (
            <>
              <Field label="From address" error={fieldError(error, "sendEmailFromAddress")}>
                {(p) => (
                  <input
                    {...p}
                    disabled={!canWrite}
                    value={draft.sendEmailFromAddress ?? ""}
                    onChange={(e) => setDraft({ ...draft, sendEmailFromAddress: e.target.value || null })}
                  />
                )}
              </Field>
              <Field label="From display name" error={fieldError(error, "sendEmailFromDisplayName")}>
                {(p) => (
                  <input
                    {...p}
                    disabled={!canWrite}
                    value={draft.sendEmailFromDisplayName ?? ""}
                    onChange={(e) => setDraft({ ...draft, sendEmailFromDisplayName: e.target.value || null })}
                  />
                )}
              </Field>
            </>
          )}
          <ErrorBox error={pinError ? null : error} />
          {saved && (
            <p className="success" role="status">
              Settings saved.
            </p>
          )}
          {canWrite && (
            <button type="submit" className="btn btn-primary">
              Save settings
            </button>
          )}
        </form>
      )}
    </section>
  );
}

function Providers() {
  const session = useSession();
  const providers = useAsync(() => apiGet<Provider[]>("/conferencing/providers"), "providers");
  const [name, setName] = useState("");
  const [domain, setDomain] = useState("");
  const [url, setUrl] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);

  const add = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const p = await apiSend<Provider>("POST", "/conferencing/providers", { name, domain, url: url.trim() || undefined });
      setDone(`Provider ${p.identity} added.`);
      setName("");
      setDomain("");
      setUrl("");
      providers.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const nameError = fieldError(error, "name", /provider name is empty|provider with that name/);
  const domainError = fieldError(error, "domain", /domain/i);
  const urlError = fieldError(error, "url", /URL/);
  return (
    <section className="card" aria-labelledby="providers-h">
      <h2 id="providers-h">Providers</h2>
      {providers.loading && !providers.data && <Loading />}
      <ErrorBox error={providers.error} retry={providers.reload} />
      {providers.data?.length === 0 && <Empty>No providers.</Empty>}
      {providers.data && providers.data.length > 0 && (
        <ul id="providers-list">
          {providers.data.map((p) => (
            <li key={p.identity}>
              {p.identity} <span className="muted">{p.domain}</span> {p.isMicrosoft && <Badge tone="info">Microsoft</Badge>}
            </li>
          ))}
        </ul>
      )}
      {done && (
        <p className="success" role="status">
          {done}
        </p>
      )}
      {session.can("conferencing.write") && (
        <>
          <h3 id="add-provider-h">Add provider</h3>
          <form className="toolbar" onSubmit={(e) => void add(e)} aria-labelledby="add-provider-h">
            <Field label="Provider name" error={nameError}>
              {(p) => <input {...p} value={name} required onChange={(e) => setName(e.target.value)} />}
            </Field>
            <Field label="Provider domain" error={domainError}>
              {(p) => (
                <input {...p} value={domain} required placeholder="provider.example.com" onChange={(e) => setDomain(e.target.value)} />
              )}
            </Field>
            <Field label="Provider URL (optional)" error={urlError}>
              {(p) => <input {...p} value={url} type="url" onChange={(e) => setUrl(e.target.value)} />}
            </Field>
            <button type="submit" className="btn btn-primary" disabled={busy}>
              {busy ? "Adding…" : "Add provider"}
            </button>
          </form>
          <ErrorBox error={error && !nameError && !domainError && !urlError ? error : null} />
        </>
      )}
    </section>
  );
}
