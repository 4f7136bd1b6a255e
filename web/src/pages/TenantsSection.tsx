// Tenants on the Access page: the list, and a new one (`callplane tenants create`). The top bar's
// tenant switcher picks which one the other pages show.
import { type FormEvent, useState } from "react";
import { apiGet, apiSend, useSession } from "../api.ts";
import { Empty, ErrorBox, Field, fieldError, Loading, useAsync, when } from "../ui.tsx";

interface Tenant {
  id: string;
  name: string;
  domain: string;
  createdAt?: string;
}

export function Tenants() {
  const session = useSession();
  const tenants = useAsync(() => apiGet<Tenant[]>("/tenants"), "tenants-list");
  const [name, setName] = useState("");
  const [domain, setDomain] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const t = await apiSend<Tenant>("POST", "/tenants", { name, domain });
      setDone(`Tenant ${t.name} (${t.domain}) created: choose it in the top bar (after reloading the page) to work on it.`);
      setName("");
      setDomain("");
      tenants.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const nameError = fieldError(error, "name", /tenant with that name/);
  const domainError = fieldError(error, "domain", /domain/i);
  return (
    <section className="card" aria-labelledby="tenants-h">
      <h2 id="tenants-h">Tenants</h2>
      {tenants.loading && !tenants.data && <Loading>Loading the tenants…</Loading>}
      <ErrorBox error={tenants.error} retry={tenants.reload} />
      {tenants.data?.length === 0 && <Empty>No tenants yet.</Empty>}
      {tenants.data && tenants.data.length > 0 && (
        <div className="table-wrap">
          <table className="data" id="tenants-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Domain</th>
                <th scope="col">ID</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {tenants.data.map((t) => (
                <tr key={t.id}>
                  <th scope="row">{t.name}</th>
                  <td>{t.domain}</td>
                  <td className="mono">{t.id}</td>
                  <td>{when(t.createdAt)}</td>
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
      {session.can("tenants.write") && (
        <>
          <h3>New tenant</h3>
          <form className="toolbar" onSubmit={(e) => void create(e)} aria-label="New tenant">
            <Field label="Tenant name" error={nameError}>
              {(p) => <input {...p} value={name} required onChange={(e) => setName(e.target.value)} />}
            </Field>
            <Field label="Tenant domain" error={domainError}>
              {(p) => <input {...p} value={domain} required placeholder="fabrikam.com" onChange={(e) => setDomain(e.target.value)} />}
            </Field>
            <button type="submit" className="btn btn-primary" disabled={busy}>
              {busy ? "Creating…" : "Create tenant"}
            </button>
          </form>
          <ErrorBox error={error && !nameError && !domainError ? error : null} />
        </>
      )}
    </section>
  );
}
