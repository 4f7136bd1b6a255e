import { type FormEvent, useState } from "react";
import { ApiError, signIn, useSession } from "../api.ts";
import { ErrorBox, Field } from "../ui.tsx";

export default function SignInPage() {
  const session = useSession();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(username, password);
    } catch (err) {
      setError(
        err instanceof ApiError && err.code === "unauthenticated"
          ? new ApiError(401, err.code, "The user name or password is not right.")
          : err,
      );
      setBusy(false);
    }
  };

  return (
    <main className="auth-page">
      <form className="card auth-card" onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Sign in to Callplane</h1>
        {session.notice && (
          <p className="notice" role="status">
            {session.notice}
          </p>
        )}
        <Field label="User name">
          {(p) => (
            <input {...p} name="username" autoComplete="username" required value={username} onChange={(e) => setUsername(e.target.value)} />
          )}
        </Field>
        <Field label="Password">
          {(p) => (
            <input
              {...p}
              name="password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
        </Field>
        <ErrorBox error={error} />
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
