import { type FormEvent, useState } from "react";
import { changePassword, signOut, useSession } from "../api.ts";
import { ErrorBox, Field, fieldError } from "../ui.tsx";

/** Shown while the account must change its password (first sign-in with a one-time password). */
export default function ChangePasswordPage() {
  const session = useSession();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [mismatch, setMismatch] = useState(false);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    // Only the two copies are compared here; the password rules are the server's.
    if (next !== again) {
      setMismatch(true);
      return;
    }
    setMismatch(false);
    setBusy(true);
    try {
      await changePassword(current, next);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <main className="auth-page">
      <form className="card auth-card" onSubmit={submit} aria-labelledby="pw-title">
        <h1 id="pw-title">Choose a new password</h1>
        <p>{session.principal?.name}, your password was set for one sign-in only. Choose your own before you go on.</p>
        <Field label="Current password" error={fieldError(error, "currentPassword")}>
          {(p) => (
            <input
              {...p}
              name="currentPassword"
              type="password"
              autoComplete="current-password"
              required
              value={current}
              onChange={(e) => setCurrent(e.target.value)}
            />
          )}
        </Field>
        <Field label="New password" error={fieldError(error, "newPassword")}>
          {(p) => (
            <input
              {...p}
              name="newPassword"
              type="password"
              autoComplete="new-password"
              required
              value={next}
              onChange={(e) => setNext(e.target.value)}
            />
          )}
        </Field>
        <Field label="New password again" error={mismatch ? "The two new passwords are not the same." : undefined}>
          {(p) => (
            <input
              {...p}
              name="newPasswordAgain"
              type="password"
              autoComplete="new-password"
              required
              value={again}
              onChange={(e) => setAgain(e.target.value)}
            />
          )}
        </Field>
        <ErrorBox error={error} />
        <div className="toolbar">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            Change password
          </button>
          <button type="button" className="btn" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </form>
    </main>
  );
}
