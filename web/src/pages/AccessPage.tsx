// Access: the accounts that sign in to the admin center and the API tokens of scripts and the CLI
// (global administrators only). A one-time password or a new token is in the server's answer once;
// the page shows it until it is dismissed and never again.
import { type FormEvent, useEffect, useRef, useState } from "react";
import { apiGet, apiSend, seg, useSession } from "../api.ts";
import { Badge, Empty, ErrorBox, Field, fieldError, Loading, PageHeader, useAsync, when } from "../ui.tsx";
import { Tenants } from "./TenantsSection.tsx";

interface RoleInfo {
  role: string;
  description: string;
}

interface Account {
  id: string;
  name: string;
  role: string;
  mustChangePassword: boolean;
  passwordExpiresAt: string | null;
  disabled: boolean;
  signInBlockedUntil: string | null;
  createdBy: string;
  createdAt: string;
}

interface Token {
  id: string;
  name: string;
  role: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  disabledAccount: string | null;
}

export default function AccessPage() {
  const session = useSession();
  const roles = useAsync(() => apiGet<RoleInfo[]>("/auth/roles"), "roles");
  if (!session.can("auth.admin")) {
    return (
      <div className="page">
        <PageHeader title="Access" />
        <Empty>Accounts and API tokens are managed by global administrators.</Empty>
      </div>
    );
  }
  const roleList = roles.data ?? [];
  return (
    <div className="page">
      <PageHeader title="Access" />
      <ErrorBox error={roles.error} retry={roles.reload} />
      <Accounts roles={roleList} />
      <Tokens roles={roleList} />
      {roleList.length > 0 && (
        <section className="card" aria-labelledby="roles-h">
          <h2 id="roles-h">Roles</h2>
          <dl className="props">
            {roleList.map((r) => (
              <div key={r.role} style={{ display: "contents" }}>
                <dt>{r.role}</dt>
                <dd>{r.description}</dd>
              </div>
            ))}
          </dl>
        </section>
      )}
      {session.can("tenants.read") && <Tenants />}
    </div>
  );
}

function RoleSelect({
  roles,
  value,
  onChange,
  props,
}: {
  roles: RoleInfo[];
  value: string;
  onChange: (v: string) => void;
  props: { id: string; "aria-invalid": boolean; "aria-describedby"?: string };
}) {
  return (
    <select {...props} value={value} onChange={(e) => onChange(e.target.value)}>
      {roles.length === 0 && <option value={value}>{value}</option>}
      {roles.map((r) => (
        <option key={r.role} value={r.role}>
          {r.role}
        </option>
      ))}
    </select>
  );
}

/** A secret in the server's answer: shown once, focused so a screen reader reads it, then dismissed. */
function Secret({ label, value, testId, onDone }: { label: string; value: string; testId: string; onDone: () => void }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <div className="notice" role="status" aria-live="polite" tabIndex={-1} ref={ref}>
      {label}, shown only this once:{" "}
      <code className="secret" data-testid={testId}>
        {value}
      </code>{" "}
      <span className="muted">(select it and copy it now: it cannot be shown again)</span>{" "}
      <button type="button" className="btn-link" onClick={onDone}>
        I have copied it
      </button>
    </div>
  );
}

function Accounts({ roles }: { roles: RoleInfo[] }) {
  const accounts = useAsync(() => apiGet<Account[]>("/auth/accounts"), "accounts");
  const [name, setName] = useState("");
  const [role, setRole] = useState("reader");
  const [password, setPassword] = useState("");
  const [createError, setCreateError] = useState<unknown>(null);
  const [rowError, setRowError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [secret, setSecret] = useState<{ account: string; password: string } | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setCreateError(null);
    setDone(null);
    setSecret(null);
    try {
      const r = await apiSend<{ account: Account; oneTimePassword: string | null }>("POST", "/auth/accounts", {
        name,
        role,
        password: password || undefined,
      });
      if (r.oneTimePassword) setSecret({ account: r.account.name, password: r.oneTimePassword });
      else setDone(`Account ${r.account.name} created with the password given.`);
      setName("");
      setPassword("");
      accounts.reload();
    } catch (err) {
      setCreateError(err);
    } finally {
      setBusy(false);
    }
  };

  const act = async (fn: () => Promise<unknown>, message: string) => {
    setRowError(null);
    setDone(null);
    try {
      await fn();
      setDone(message);
      accounts.reload();
    } catch (err) {
      setRowError(err);
    }
  };

  const resetPassword = async (a: Account) => {
    setRowError(null);
    setDone(null);
    setSecret(null);
    try {
      const r = await apiSend<{ account: Account; oneTimePassword: string }>("POST", `/auth/accounts/${seg(a.name)}/reset-password`);
      setSecret({ account: r.account.name, password: r.oneTimePassword });
      accounts.reload();
    } catch (err) {
      setRowError(err);
    }
  };

  const nameError = fieldError(createError, "name", /account name|An account with that name/);
  const passwordError = fieldError(createError, "password", /password/i);
  const roleError = fieldError(createError, "role");
  const generalCreate = createError && !nameError && !passwordError && !roleError ? createError : null;

  return (
    <section className="card" aria-labelledby="accounts-h">
      <h2 id="accounts-h">Accounts</h2>
      {accounts.loading && !accounts.data && <Loading>Loading the accounts…</Loading>}
      <ErrorBox error={accounts.error} retry={accounts.reload} />
      {accounts.data?.length === 0 && <Empty>No accounts.</Empty>}
      {accounts.data && accounts.data.length > 0 && (
        <div className="table-wrap">
          <table className="data" id="accounts-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">State</th>
                <th scope="col">Created</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {accounts.data.map((a) => (
                <tr key={a.id}>
                  <th scope="row">{a.name}</th>
                  <td>
                    <RoleChange
                      account={a}
                      roles={roles}
                      onSet={(next) =>
                        act(() => apiSend("PATCH", `/auth/accounts/${seg(a.name)}`, { role: next }), `${a.name} is now ${next}.`)
                      }
                    />
                  </td>
                  <td>
                    {a.disabled ? <Badge tone="bad">disabled</Badge> : <Badge tone="good">enabled</Badge>}{" "}
                    {a.mustChangePassword && <Badge tone="warn">must choose a password</Badge>}{" "}
                    {a.passwordExpiresAt && a.passwordExpiresAt < new Date().toISOString() && (
                      <Badge tone="bad">one-time password expired</Badge>
                    )}{" "}
                    {a.signInBlockedUntil && <Badge tone="warn">sign-in slowed down until {when(a.signInBlockedUntil)}</Badge>}
                  </td>
                  <td>
                    {when(a.createdAt)} <span className="muted">by {a.createdBy}</span>
                  </td>
                  <td>
                    <button
                      type="button"
                      className="btn-link"
                      onClick={() =>
                        void act(
                          () => apiSend("PATCH", `/auth/accounts/${seg(a.name)}`, { disabled: !a.disabled }),
                          `${a.name} is ${a.disabled ? "enabled" : "disabled"}.`,
                        )
                      }
                    >
                      {a.disabled ? "Enable" : "Disable"}
                      <span className="sr-only"> {a.name}</span>
                    </button>{" "}
                    <button type="button" className="btn-link" onClick={() => void resetPassword(a)}>
                      Reset password<span className="sr-only"> of {a.name}</span>
                    </button>
                    {a.signInBlockedUntil && (
                      <>
                        {" "}
                        <button
                          type="button"
                          className="btn-link"
                          onClick={() =>
                            void act(
                              () => apiSend("POST", `/auth/accounts/${seg(a.name)}/unlock`),
                              `${a.name} can sign in again at once, from every address.`,
                            )
                          }
                        >
                          Unlock<span className="sr-only"> {a.name}</span>
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ErrorBox error={rowError} />
      {done && (
        <p className="success" role="status">
          {done}
        </p>
      )}
      {secret && (
        <Secret
          label={`One-time password of ${secret.account}`}
          value={secret.password}
          testId="one-time-password"
          onDone={() => setSecret(null)}
        />
      )}
      <h3>New account</h3>
      <form className="toolbar" onSubmit={(e) => void create(e)} aria-label="New account">
        <Field label="Account name" error={nameError}>
          {(p) => <input {...p} value={name} required autoComplete="off" onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field label="Role" error={roleError}>
          {(p) => <RoleSelect roles={roles} value={role} onChange={setRole} props={p} />}
        </Field>
        <Field
          label="Password (optional)"
          hint="Leave empty for a one-time password, shown once; the account chooses its own at sign-in."
          error={passwordError}
        >
          {(p) => (
            <input {...p} type="password" value={password} autoComplete="new-password" onChange={(e) => setPassword(e.target.value)} />
          )}
        </Field>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Creating…" : "Create account"}
        </button>
      </form>
      <ErrorBox error={generalCreate} />
    </section>
  );
}

/** A role drop-down and its button: choosing with the arrow keys changes nothing until "Set role". */
function RoleChange({ account, roles, onSet }: { account: Account; roles: RoleInfo[]; onSet: (role: string) => Promise<unknown> }) {
  const [role, setRole] = useState(account.role);
  useEffect(() => setRole(account.role), [account.role]);
  const id = `role-${account.id}`;
  return (
    <span className="toolbar">
      <label className="sr-only" htmlFor={id}>
        Role of {account.name}
      </label>
      <select id={id} value={role} onChange={(e) => setRole(e.target.value)}>
        {(roles.length ? roles : [{ role: account.role, description: "" }]).map((r) => (
          <option key={r.role} value={r.role}>
            {r.role}
          </option>
        ))}
      </select>
      <button type="button" className="btn" disabled={role === account.role} onClick={() => void onSet(role)}>
        Set role<span className="sr-only"> of {account.name}</span>
      </button>
    </span>
  );
}

function Tokens({ roles }: { roles: RoleInfo[] }) {
  const tokens = useAsync(() => apiGet<Token[]>("/auth/tokens"), "tokens");
  const [name, setName] = useState("");
  const [role, setRole] = useState("reader");
  const [expiresIn, setExpiresIn] = useState("");
  const [createError, setCreateError] = useState<unknown>(null);
  const [rowError, setRowError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [secret, setSecret] = useState<{ name: string; token: string } | null>(null);
  const [confirming, setConfirming] = useState<Token | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const confirmRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (confirming) confirmRef.current?.focus();
  }, [confirming]);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setCreateError(null);
    setDone(null);
    setSecret(null);
    try {
      const r = await apiSend<{ token: string; tokenInfo: Token }>("POST", "/auth/tokens", {
        name,
        role,
        expiresIn: expiresIn.trim() || undefined,
      });
      setSecret({ name: r.tokenInfo.name, token: r.token });
      setName("");
      setExpiresIn("");
      tokens.reload();
    } catch (err) {
      setCreateError(err);
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (t: Token) => {
    setRowError(null);
    setDone(null);
    try {
      await apiSend("DELETE", `/auth/tokens/${seg(t.id)}`);
      setConfirming(null);
      setDone(`Token ${t.name} is revoked: it no longer works.`);
      tokens.reload();
    } catch (err) {
      setRowError(err);
    }
  };

  const tokenNameError = fieldError(createError, "name", /token needs a name/);
  const expiresError = fieldError(createError, "expiresIn");
  const generalCreate = createError && !tokenNameError && !expiresError ? createError : null;

  return (
    <section className="card" aria-labelledby="tokens-h">
      <h2 id="tokens-h">API tokens</h2>
      {tokens.loading && !tokens.data && <Loading>Loading the API tokens…</Loading>}
      <ErrorBox error={tokens.error} retry={tokens.reload} />
      {tokens.data?.length === 0 && <Empty>No API tokens yet.</Empty>}
      {tokens.data && tokens.data.length > 0 && (
        <div className="table-wrap">
          <table className="data" id="tokens-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">ID</th>
                <th scope="col">Role</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">Created</th>
                <th scope="col">State</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {tokens.data.map((t) => (
                <tr key={t.id}>
                  <th scope="row">{t.name}</th>
                  <td className="mono">{t.id}</td>
                  <td>{t.role}</td>
                  <td>{t.expiresAt ? when(t.expiresAt) : "never"}</td>
                  <td>{t.lastUsedAt ? when(t.lastUsedAt) : "never"}</td>
                  <td>
                    {when(t.createdAt)} <span className="muted">by {t.createdBy}</span>
                  </td>
                  <td>
                    {t.revokedAt ? (
                      <Badge tone="bad">revoked {when(t.revokedAt)}</Badge>
                    ) : t.expiresAt && t.expiresAt < new Date().toISOString() ? (
                      <Badge tone="bad">expired</Badge>
                    ) : t.disabledAccount ? (
                      <Badge tone="bad">stopped: {t.disabledAccount} is disabled</Badge>
                    ) : (
                      <Badge tone="good">active</Badge>
                    )}
                  </td>
                  <td>
                    {!t.revokedAt && (
                      <button type="button" id={`revoke-${t.id}`} className="btn-link" onClick={() => setConfirming(t)}>
                        Revoke<span className="sr-only"> {t.name}</span>
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {confirming && (
        <div className="notice" role="alertdialog" aria-labelledby="revoke-q">
          <span id="revoke-q">
            Revoke the token {confirming.name} ({confirming.id})? Whatever uses it stops working at once.
          </span>{" "}
          <button ref={confirmRef} type="button" className="btn btn-danger" onClick={() => void revoke(confirming)}>
            Yes, revoke
          </button>{" "}
          <button
            type="button"
            className="btn"
            onClick={() => {
              const id = confirming.id;
              setConfirming(null);
              // Back to the Revoke button the question came from, for a keyboard user.
              requestAnimationFrame(() => document.getElementById(`revoke-${id}`)?.focus());
            }}
          >
            Cancel
          </button>
        </div>
      )}
      <ErrorBox error={rowError} />
      {done && (
        <p className="success" role="status">
          {done}
        </p>
      )}
      {secret && <Secret label={`API token ${secret.name}`} value={secret.token} testId="new-token" onDone={() => setSecret(null)} />}
      <h3>New API token</h3>
      <form className="toolbar" onSubmit={(e) => void create(e)} aria-label="New API token">
        <Field label="Token name" error={tokenNameError}>
          {(p) => <input {...p} value={name} required autoComplete="off" onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field label="Token role" error={fieldError(createError, "role")}>
          {(p) => <RoleSelect roles={roles} value={role} onChange={setRole} props={p} />}
        </Field>
        <Field label="Expires in (optional)" hint="e.g. 30d, 12h, 90m, or never; empty: 90 days" error={expiresError}>
          {(p) => <input {...p} value={expiresIn} size={8} onChange={(e) => setExpiresIn(e.target.value)} />}
        </Field>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Creating…" : "Create token"}
        </button>
      </form>
      <ErrorBox error={generalCreate} />
    </section>
  );
}
