// A user's properties: identity, licences, voice with the seed's checklist, and audio conferencing
// with the seed's Provider name and Default toll number drop-downs and Save.
import { type FormEvent, useEffect, useState } from "react";
import type { z } from "zod";
import type { acpEntryView } from "../../../src/conferencing/conferencing.schemas.ts";
import { ApiError, apiGet, apiSend, seg, useSession } from "../api.ts";
import { MailTable } from "../mail/MailTable.tsx";
import { Link, withQuery } from "../router.tsx";
import type {
  Bridge,
  Checklist,
  DialIn,
  DialInChange,
  Mail,
  MoveReportRow,
  OnlineVoiceChange,
  OnPremChange,
  RestoreResult,
  ServiceNumber,
  Sku,
  User,
  VoiceRoutingPolicy,
} from "../types.ts";
import { lifecycleLabel } from "../types.ts";
import { Badge, Empty, ErrorBox, Field, fieldError, Loading, PageHeader, useAsync, when } from "../ui.tsx";
import { UserAcpSection } from "./UserAcpSection.tsx";

type AcpEntry = z.infer<typeof acpEntryView>;

export default function UserPage({ id }: { id: string }) {
  const user = useAsync(() => apiGet<User>(`/users/${seg(id)}`), id);
  const [version, setVersion] = useState(0);
  const refresh = () => {
    user.reload();
    setVersion((v) => v + 1);
  };

  return (
    <div className="page">
      <p>
        <Link to="/users">← Users</Link>
      </p>
      <PageHeader title={user.data ? user.data.displayName : "User"} />
      <ErrorBox error={user.error} retry={user.reload} />
      {user.loading && !user.data && <Loading>Loading the user…</Loading>}
      {user.data && (
        <>
          <div className="grid-2">
            <Identity user={user.data} onChange={refresh} />
            <Licences user={user.data} onChange={refresh} />
          </div>
          <Conferencing user={user.data} version={version} onChange={refresh} />
          {user.data.provider.kind !== "microsoft" && <UserAcpSection user={user.data} version={version} onChange={refresh} />}
          <Voice user={user.data} version={version} onChange={refresh} />
          <Messages user={user.data} version={version} />
        </>
      )}
    </div>
  );
}

const MESSAGES_SHOWN = 20;

/** The emails sent to this user about their dial-in, newest first, each linking to its message view. */
function Messages({ user, version }: { user: User; version: number }) {
  const session = useSession();
  const canRead = session.can("conferencing.read");
  const mail = useAsync(
    () => (canRead ? apiGet<Mail[]>("/mail", { user: user.id, limit: MESSAGES_SHOWN + 1 }) : Promise.resolve([])),
    `${user.id}:${version}`,
  );
  if (!canRead) return null;
  const items = (mail.data ?? []).slice(0, MESSAGES_SHOWN);
  const more = (mail.data?.length ?? 0) > MESSAGES_SHOWN;
  return (
    <section className="card" aria-labelledby="messages-h">
      <h2 id="messages-h">Messages</h2>
      {mail.loading && !mail.data && <Loading>Loading the messages…</Loading>}
      <ErrorBox error={mail.error} retry={mail.reload} />
      {mail.data?.length === 0 && <Empty>No emails were sent to this user.</Empty>}
      {items.length > 0 && (
        <MailTable items={items} showTo={false} caption={`The ${more ? `${MESSAGES_SHOWN} newest ` : ""}emails to ${user.displayName}`} />
      )}
      {more && (
        <p>
          <Link to={withQuery("/mail", { user: user.id })}>Every message to this user</Link>
        </p>
      )}
    </section>
  );
}

function Identity({ user, onChange }: { user: User; onChange: () => void }) {
  const session = useSession();
  const [editing, setEditing] = useState(false);
  const [displayName, setDisplayName] = useState(user.displayName);
  const [usageLocation, setUsageLocation] = useState(user.usageLocation ?? "");
  const [error, setError] = useState<unknown>(null);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const body: { displayName?: string; usageLocation?: string | null } = {};
    if (displayName !== user.displayName) body.displayName = displayName;
    if (usageLocation !== (user.usageLocation ?? "")) body.usageLocation = usageLocation.trim() ? usageLocation.trim() : null;
    try {
      await apiSend<User>("PATCH", `/users/${seg(user.userPrincipalName)}`, body);
      setEditing(false);
      onChange();
    } catch (err) {
      setError(err);
    }
  };
  const nameError = fieldError(error, "displayName", /^The display name/i);
  const locationError = fieldError(error, "usageLocation", /^Usage location/i);

  return (
    <section className="card" aria-labelledby="identity-h">
      <h2 id="identity-h">Identity</h2>
      {editing ? (
        <form onSubmit={save} aria-label="Edit identity">
          <Field label="Display name" error={nameError}>
            {(p) => <input {...p} value={displayName} onChange={(e) => setDisplayName(e.target.value)} />}
          </Field>
          <Field label="Usage location" hint="A two-letter country code, e.g. US; licences need one." error={locationError}>
            {(p) => <input {...p} value={usageLocation} maxLength={2} size={3} onChange={(e) => setUsageLocation(e.target.value)} />}
          </Field>
          <ErrorBox error={nameError || locationError ? null : error} />
          <div className="toolbar">
            <button type="submit" className="btn btn-primary">
              Save identity
            </button>
            <button
              type="button"
              className="btn"
              onClick={() => {
                setEditing(false);
                setError(null);
              }}
            >
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <>
          <dl className="props">
            <dt>User principal name</dt>
            <dd>{user.userPrincipalName}</dd>
            <dt>Display name</dt>
            <dd>{user.displayName}</dd>
            <dt>SIP address</dt>
            <dd>{user.sipAddress ?? "—"}</dd>
            <dt>Alias</dt>
            <dd>{user.alias ?? "—"}</dd>
            <dt>Usage location</dt>
            <dd>{user.usageLocation ?? "—"}</dd>
            <dt>Source</dt>
            <dd>{user.source === "on-premises" ? "Synchronised from on-premises" : "Cloud"}</dd>
            <dt>Last synchronised</dt>
            <dd>{when(user.voice.lastSyncedAt)}</dd>
            <dt>Object id</dt>
            <dd className="mono">{user.id}</dd>
          </dl>
          {session.can("users.write") && (
            <button
              type="button"
              className="btn"
              onClick={() => {
                setDisplayName(user.displayName);
                setUsageLocation(user.usageLocation ?? "");
                setEditing(true);
              }}
            >
              Edit identity
            </button>
          )}
        </>
      )}
    </section>
  );
}

function Licences({ user, onChange }: { user: User; onChange: () => void }) {
  const session = useSession();
  const skus = useAsync(() => apiGet<Sku[]>("/licences"), "skus");
  const [sku, setSku] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const canWrite = session.can("licences.write");

  const act = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
      skus.reload();
      onChange();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const free = (skus.data ?? []).filter((s) => !user.licences.includes(s.skuPartNumber));

  return (
    <section className="card" aria-labelledby="licences-h">
      <h2 id="licences-h">Licences</h2>
      {user.licences.length === 0 ? (
        <p className="muted">No licences.</p>
      ) : (
        <ul>
          {user.licences.map((l) => (
            <li key={l}>
              {skus.data?.find((s) => s.skuPartNumber === l)?.name ?? l} <span className="muted mono">{l}</span>{" "}
              {canWrite && (
                <button
                  type="button"
                  className="btn-link"
                  disabled={busy}
                  onClick={() => void act(() => apiSend("DELETE", `/users/${seg(user.userPrincipalName)}/licences/${seg(l)}`))}
                >
                  Remove<span className="sr-only"> {l}</span>
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <p>
        Audio Conferencing licence: <strong>{user.audioConferencingLicensed ? "Yes" : "No"}</strong>
      </p>
      {canWrite && free.length > 0 && (
        <form
          className="toolbar"
          onSubmit={(e) => {
            e.preventDefault();
            if (sku) void act(() => apiSend("POST", `/users/${seg(user.userPrincipalName)}/licences`, { sku }));
          }}
        >
          <Field label="Assign a licence">
            {(p) => (
              <select {...p} value={sku} onChange={(e) => setSku(e.target.value)}>
                <option value="">Choose…</option>
                {free.map((s) => (
                  <option key={s.id} value={s.skuPartNumber}>
                    {s.name} ({s.available} free)
                  </option>
                ))}
              </select>
            )}
          </Field>
          <button type="submit" className="btn" disabled={!sku || busy}>
            Assign
          </button>
        </form>
      )}
      <ErrorBox error={error} />
    </section>
  );
}

/** The API's message for a field: from the error's details, or an error that names the value sent. */
function messageFor(error: unknown, field: string, sent: string | undefined): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  const detail = error.fieldMessage(field);
  if (detail) return detail;
  if (sent && error.code.startsWith("service_number") && error.message.includes(sent)) return error.message;
  return undefined;
}

const NONE = "";

function Conferencing({ user, version, onChange }: { user: User; version: number; onChange: () => void }) {
  const session = useSession();
  const upn = user.userPrincipalName;
  const onMicrosoft = user.provider.kind === "microsoft";
  const dialIn = useAsync(
    () => (onMicrosoft ? apiGet<DialIn>(`/conferencing/users/${seg(upn)}`) : Promise.resolve(null)),
    `${upn}:${onMicrosoft}:${version}`,
  );
  const acp = useAsync(
    () => (user.provider.kind === "third-party" ? apiGet<AcpEntry[]>(`/users/${seg(upn)}/acp`) : Promise.resolve([])),
    `${upn}:${user.provider.kind}:${version}`,
  );
  const bridges = useAsync(() => apiGet<Bridge[]>("/conferencing/bridges"), "bridges");

  const current = onMicrosoft ? "Microsoft" : (user.provider.name ?? NONE);
  const [provider, setProvider] = useState(current);
  const [toll, setToll] = useState("");
  const [tollFree, setTollFree] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  // What failed after a change was made (its email): the change stands, and the administrator must know.
  const [warning, setWarning] = useState<string | null>(null);
  const [pin, setPin] = useState<string | null>(null);
  const [sent, setSent] = useState<{ serviceNumber?: string; tollFreeServiceNumber?: string }>({});

  useEffect(() => setProvider(current), [current]);
  // The drop-downs follow the saved numbers when those change, not every refetch (a choice in
  // progress is kept while the page refreshes after another change).
  const savedToll = dialIn.data?.serviceNumber ?? "";
  const savedTollFree = dialIn.data?.tollFreeServiceNumber ?? "";
  useEffect(() => setToll(savedToll), [savedToll]);
  useEffect(() => setTollFree(savedTollFree), [savedTollFree]);

  const bridge = (bridges.data ?? []).find((b) => (dialIn.data ? b.name === dialIn.data.bridge : b.isDefault)) ?? bridges.data?.[0];
  // The user's own numbers are always choices, even before the bridge has loaded.
  const withCurrent = (list: ServiceNumber[], current: string, type: ServiceNumber["type"]): ServiceNumber[] =>
    current && !list.some((n) => n.number === current)
      ? [
          { number: current, type, city: null, country: null, primaryLanguage: "", secondaryLanguages: [], bridge: bridge?.name ?? "" },
          ...list,
        ]
      : list;
  const tollNumbers = withCurrent(bridge?.serviceNumbers.filter((n) => n.type === "toll") ?? [], savedToll, "toll");
  const tollFreeNumbers = withCurrent(bridge?.serviceNumbers.filter((n) => n.type === "toll-free") ?? [], savedTollFree, "toll-free");
  const canWrite = session.can("conferencing.write");
  const toMicrosoft = provider === "Microsoft" && !onMicrosoft;
  const numbersChanged =
    onMicrosoft && ((dialIn.data?.serviceNumber ?? "") !== toll || (dialIn.data?.tollFreeServiceNumber ?? "") !== tollFree);
  const turnOff = onMicrosoft && provider === NONE;
  const dirty = toMicrosoft || numbersChanged || turnOff;

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setSaving(true);
    setError(null);
    setDone(null);
    setWarning(null);
    setPin(null);
    const body: { serviceNumber?: string; tollFreeServiceNumber?: string } = {};
    if (toll && toll !== (dialIn.data?.serviceNumber ?? "")) body.serviceNumber = toll;
    if (tollFree && tollFree !== (dialIn.data?.tollFreeServiceNumber ?? "")) body.tollFreeServiceNumber = tollFree;
    setSent(body);
    try {
      let change: DialInChange;
      if (turnOff) change = await apiSend<DialInChange>("POST", `/conferencing/users/${seg(upn)}/disable`, {});
      else if (toMicrosoft) {
        change = await apiSend<DialInChange>("POST", `/conferencing/users/${seg(upn)}/enable`, {
          ...body,
          replaceProvider: user.provider.kind === "third-party",
        });
      } else change = await apiSend<DialInChange>("PATCH", `/conferencing/users/${seg(upn)}`, body);
      setDone(change.message);
      setWarning(change.warning);
      setPin(change.pin);
      onChange();
    } catch (err) {
      setError(err);
    } finally {
      setSaving(false);
    }
  };

  const resetPin = async () => {
    setError(null);
    setDone(null);
    setWarning(null);
    setPin(null);
    try {
      const change = await apiSend<DialInChange>("POST", `/conferencing/users/${seg(upn)}/reset-pin`, {});
      setDone(change.message);
      setWarning(change.warning);
      setPin(change.pin);
    } catch (err) {
      setError(err);
    }
  };

  const restore = async () => {
    setError(null);
    setDone(null);
    setPin(null);
    try {
      const r = await apiSend<RestoreResult>("POST", `/conferencing/users/${seg(upn)}/restore`);
      setDone(r.message);
      onChange();
    } catch (err) {
      setError(err);
    }
  };

  const tollError = messageFor(error, "serviceNumber", sent.serviceNumber);
  const tollFreeError = messageFor(error, "tollFreeServiceNumber", sent.tollFreeServiceNumber);
  const general = error && !tollError && !tollFreeError ? error : null;

  return (
    <section className="card" aria-labelledby="conf-h">
      <h2 id="conf-h">Audio conferencing</h2>
      {user.readyForAudioConferencing && (
        <p className="notice">This user has an Audio Conferencing licence but Microsoft is not their provider yet.</p>
      )}
      <form onSubmit={save} aria-label="Audio conferencing settings">
        <div className="grid-2">
          <div>
            <Field label="Provider name">
              {(p) => (
                <select {...p} name="provider" value={provider} disabled={!canWrite} onChange={(e) => setProvider(e.target.value)}>
                  {user.provider.kind === "third-party" && user.provider.name && (
                    <option value={user.provider.name}>{user.provider.name}</option>
                  )}
                  <option value="Microsoft">Microsoft</option>
                  <option value={NONE}>{onMicrosoft ? "None (turn off dial-in)" : "None"}</option>
                </select>
              )}
            </Field>
            {(onMicrosoft || provider === "Microsoft") && (
              <>
                <Field
                  label="Default toll number"
                  error={tollError}
                  hint={tollNumbers.length === 0 ? "The bridge has no toll numbers." : undefined}
                >
                  {(p) => (
                    <select {...p} name="serviceNumber" value={toll} disabled={!canWrite} onChange={(e) => setToll(e.target.value)}>
                      <option value="">{onMicrosoft ? "None" : "The bridge's default"}</option>
                      {tollNumbers.map((n) => (
                        <option key={n.number} value={n.number}>
                          {n.number}
                          {n.city ? ` (${n.city})` : ""}
                          {n.number === bridge?.defaultServiceNumber ? " — bridge default" : ""}
                        </option>
                      ))}
                    </select>
                  )}
                </Field>
                <Field label="Toll-free number" error={tollFreeError}>
                  {(p) => (
                    <select
                      {...p}
                      name="tollFreeServiceNumber"
                      value={tollFree}
                      disabled={!canWrite}
                      onChange={(e) => setTollFree(e.target.value)}
                    >
                      <option value="">{onMicrosoft ? "None" : "The bridge's default"}</option>
                      {tollFreeNumbers.map((n) => (
                        <option key={n.number} value={n.number}>
                          {n.number}
                          {n.country ? ` (${n.country})` : ""}
                        </option>
                      ))}
                    </select>
                  )}
                </Field>
              </>
            )}
          </div>
          <div>
            {dialIn.loading && onMicrosoft && <Loading />}
            {dialIn.data && (
              <dl className="props" aria-label="Microsoft dial-in">
                <dt>Conference ID</dt>
                <dd data-testid="conference-id">{dialIn.data.conferenceId}</dd>
                <dt>Toll number</dt>
                <dd data-testid="toll-number">{dialIn.data.serviceNumber ?? "—"}</dd>
                <dt>Toll-free number</dt>
                <dd data-testid="toll-free-number">{dialIn.data.tollFreeServiceNumber ?? "—"}</dd>
                <dt>Bridge</dt>
                <dd>{dialIn.data.bridge}</dd>
                <dt>PSTN-only meetings</dt>
                <dd>{dialIn.data.allowPstnOnlyMeetings ? "Allowed" : "Not allowed"}</dd>
              </dl>
            )}
            {!onMicrosoft && (acp.data ?? []).length > 0 && (
              <dl className="props" aria-label={`${user.provider.name} dial-in`}>
                {(acp.data ?? []).map((a) => (
                  <div key={a.name} style={{ display: "contents" }}>
                    <dt>{a.name} toll number</dt>
                    <dd>{a.tollNumber ?? "—"}</dd>
                    <dt>Toll-free numbers</dt>
                    <dd>{a.tollFreeNumbers.join(", ") || "—"}</dd>
                    <dt>Participant passcode</dt>
                    <dd>{a.participantPasscode ?? "—"}</dd>
                  </div>
                ))}
              </dl>
            )}
            {!onMicrosoft && user.provider.kind === "none" && <p className="muted">No dial-in conferencing.</p>}
          </div>
        </div>
        {toMicrosoft && user.provider.kind === "third-party" && (
          <p className="notice">
            Saving replaces {user.provider.name}'s conference ID, toll and toll-free numbers; they are archived and can be restored.
          </p>
        )}
        <ErrorBox error={general} />
        {done && (
          <p className="success" role="status">
            {done}
          </p>
        )}
        {warning && (
          <p className="notice" role="alert" data-testid="change-warning">
            {warning}
          </p>
        )}
        {pin && (
          <div className="notice" role="status" aria-live="polite">
            New PIN, shown only this once:{" "}
            <span className="secret" data-testid="new-pin">
              {pin}
            </span>
            <button type="button" className="btn-link" onClick={() => setPin(null)}>
              I have noted it
            </button>
          </div>
        )}
        <div className="toolbar">
          {canWrite && (
            <button type="submit" className="btn btn-primary" disabled={!dirty || saving}>
              {saving ? "Saving…" : "Save"}
            </button>
          )}
          {onMicrosoft && session.can("pin.reset") && (
            <button type="button" className="btn" onClick={() => void resetPin()}>
              Reset PIN
            </button>
          )}
          {onMicrosoft && canWrite && (
            <button type="button" className="btn" onClick={() => void restore()}>
              Restore previous provider
            </button>
          )}
        </div>
      </form>
    </section>
  );
}

function Voice({ user, version, onChange }: { user: User; version: number; onChange: () => void }) {
  const session = useSession();
  const upn = user.userPrincipalName;
  const checklist = useAsync(() => apiGet<Checklist>(`/users/${seg(upn)}/checklist`), `${upn}:${version}`);
  const [error, setError] = useState<unknown>(null);
  const [warnings, setWarnings] = useState<string[]>([]);
  const v = user.voice;
  const canWrite = session.can("directory.write");

  const setVoice = async (body: { enterpriseVoiceEnabled?: boolean; hostedVoicemail?: boolean }) => {
    setError(null);
    try {
      const r = await apiSend<OnlineVoiceChange>("PATCH", `/users/${seg(upn)}/voice`, body);
      setWarnings(r.warnings);
      onChange();
    } catch (e) {
      setError(e);
    }
  };

  return (
    <section className="card" aria-labelledby="voice-h">
      <h2 id="voice-h">Voice</h2>
      <div className="grid-2">
        <dl className="props">
          <dt>Lifecycle state</dt>
          <dd>
            {lifecycleLabel(v.interpretedUserType)} <span className="muted mono">{v.interpretedUserType}</span>
          </dd>
          <dt>Homed</dt>
          <dd>{v.homing === "online" ? "Online" : `On-premises${v.onPremRegistrarPool ? ` (${v.onPremRegistrarPool})` : ""}`}</dd>
          <dt>Enterprise Voice</dt>
          <dd>
            {v.homing === "online"
              ? v.enterpriseVoiceEnabled
                ? "On"
                : "Off"
              : v.onPremEnterpriseVoiceEnabled
                ? "On (on-premises)"
                : "Off"}
          </dd>
          <dt>Line URI</dt>
          <dd>{v.lineUri ?? "—"}</dd>
          <dt>Voice routing policy</dt>
          <dd>{v.homing === "online" ? v.effectiveOnlineVoiceRoutingPolicy : (v.onPremVoiceRoutingPolicy ?? "Global")}</dd>
          <dt>Hosted voicemail</dt>
          <dd>{v.hostedVoicemail ? "On" : "Off"}</dd>
          <dt>Tenant dial plan</dt>
          <dd>{v.tenantDialPlan ?? "Global"}</dd>
        </dl>
        <div>
          <h3>Steps</h3>
          {checklist.loading && !checklist.data && <Loading />}
          <ErrorBox error={checklist.error} retry={checklist.reload} />
          {checklist.data && (
            <ol className="steps" aria-label="Hybrid voice checklist">
              {checklist.data.steps.map((s) => (
                <li key={s.id} className={checklist.data?.next === s.id ? "next" : undefined}>
                  <span aria-hidden="true">{s.done ? "✔" : "○"}</span>
                  <span>
                    {s.title}{" "}
                    {s.done ? <Badge tone="good">done</Badge> : checklist.data?.next === s.id ? <Badge tone="info">next step</Badge> : null}
                    {s.note && <span className="muted"> — {s.note}</span>}
                    {!s.done && s.command && (
                      <>
                        <br />
                        <code className="mono">{s.command}</code>
                      </>
                    )}
                  </span>
                </li>
              ))}
            </ol>
          )}
          {checklist.data?.done && <Empty>Every step is done.</Empty>}
        </div>
      </div>
      {canWrite && v.homing === "online" && (
        <div className="toolbar">
          <button type="button" className="btn" onClick={() => void setVoice({ enterpriseVoiceEnabled: !v.enterpriseVoiceEnabled })}>
            {v.enterpriseVoiceEnabled ? "Turn Enterprise Voice off" : "Turn Enterprise Voice on"}
          </button>
          <button type="button" className="btn" onClick={() => void setVoice({ hostedVoicemail: !v.hostedVoicemail })}>
            {v.hostedVoicemail ? "Turn hosted voicemail off" : "Turn hosted voicemail on"}
          </button>
        </div>
      )}
      {warnings.map((w) => (
        <p key={w} className="notice">
          {w}
        </p>
      ))}
      <ErrorBox error={error} />
      {v.homing === "on-premises" && canWrite && user.voice.userDirSyncEnabled && <OnPremVoice user={user} onChange={onChange} />}
      {v.homing === "online" && canWrite && <GrantPolicy user={user} onChange={onChange} />}
      {v.homing === "on-premises" && session.can("users.move") && <MoveOnline user={user} onChange={onChange} />}
    </section>
  );
}

/** Set-CsUser on-premises: Enterprise Voice and the line URI, carried online by the next sync. */
function OnPremVoice({ user, onChange }: { user: User; onChange: () => void }) {
  const upn = user.userPrincipalName;
  const [ev, setEv] = useState(user.voice.onPremEnterpriseVoiceEnabled);
  const [lineUri, setLineUri] = useState(user.voice.onPremLineUri ?? "");
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<OnPremChange | null>(null);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setDone(null);
    try {
      const r = await apiSend<OnPremChange>("PATCH", `/onprem/users/${seg(upn)}`, {
        enterpriseVoiceEnabled: ev,
        lineUri: lineUri.trim() ? lineUri.trim() : null,
      });
      setDone(r);
      onChange();
    } catch (err) {
      setError(err);
    }
  };
  const lineError = fieldError(error, "lineUri", /^Line URI/i);

  return (
    <form className="card" onSubmit={save} aria-label="On-premises voice settings">
      <h3>On-premises voice (Set-CsUser)</h3>
      <label className="check">
        <input type="checkbox" checked={ev} onChange={(e) => setEv(e.target.checked)} /> Enterprise Voice
      </label>
      <Field label="Line URI" hint="tel:+E164, optionally ;ext=N" error={lineError}>
        {(p) => <input {...p} name="lineUri" value={lineUri} placeholder="tel:+14255550123" onChange={(e) => setLineUri(e.target.value)} />}
      </Field>
      <ErrorBox error={lineError ? null : error} />
      {done && (
        <p className="success" role="status">
          {done.changed ? "Saved on-premises." : "Nothing to change."} {done.next}
          {done.warnings.map((w) => ` ${w}`)}
        </p>
      )}
      <button type="submit" className="btn">
        Save on-premises settings
      </button>
    </form>
  );
}

/** Grant-CsOnlineVoiceRoutingPolicy. */
function GrantPolicy({ user, onChange }: { user: User; onChange: () => void }) {
  const policies = useAsync(() => apiGet<VoiceRoutingPolicy[]>("/voice/routing-policies"), "policies");
  const [policy, setPolicy] = useState(user.voice.onlineVoiceRoutingPolicy ?? "");
  const [error, setError] = useState<unknown>(null);
  const grant = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      await apiSend("PUT", `/users/${seg(user.userPrincipalName)}/online-voice-routing-policy`, { policyName: policy || null });
      onChange();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="toolbar" onSubmit={grant} aria-label="Online voice routing policy">
      <Field label="Online voice routing policy">
        {(p) => (
          <select {...p} value={policy} onChange={(e) => setPolicy(e.target.value)}>
            <option value="">Global</option>
            {(policies.data ?? [])
              .filter((x) => x.scope === "user")
              .map((x) => (
                <option key={x.identity} value={x.identity}>
                  {x.identity}
                </option>
              ))}
          </select>
        )}
      </Field>
      <button type="submit" className="btn" disabled={policy === (user.voice.onlineVoiceRoutingPolicy ?? "")}>
        Grant
      </button>
      <ErrorBox error={error} />
    </form>
  );
}

/** Move-CsUser -Target online, with a dry run first. */
function MoveOnline({ user, onChange }: { user: User; onChange: () => void }) {
  const [report, setReport] = useState<MoveReportRow | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const move = async (dryRun: boolean) => {
    setBusy(true);
    setError(null);
    try {
      const r = await apiSend<MoveReportRow>("POST", `/users/${seg(user.userPrincipalName)}/move`, { target: "online", dryRun });
      setReport(r);
      if (!dryRun) onChange();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby="move-online-h">
      <h3 id="move-online-h">Move online (Move-CsUser)</h3>
      <div className="toolbar">
        <button type="button" className="btn" disabled={busy} onClick={() => void move(true)}>
          Check the move (dry run)
        </button>
        <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void move(false)}>
          Move online
        </button>
      </div>
      <ErrorBox error={error} />
      {report && (
        <div role="status">
          <p>
            {report.dryRun ? "Dry run: " : ""}
            {report.result}
          </p>
          {report.notes.length > 0 && (
            <ul>
              {report.notes.map((n) => (
                <li key={n}>{n}</li>
              ))}
            </ul>
          )}
        </div>
      )}
    </section>
  );
}
