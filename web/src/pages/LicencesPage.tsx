// Licences: the tenant's SKUs with their service plans and seats used and free; add a SKU and change
// its seats, remove one nobody holds (`callplane licences add / set-seats / remove`). A user's
// licences are on the user's page.
import { type FormEvent, useState } from "react";
import { apiGet, apiSend, seg, useSession } from "../api.ts";
import type { Sku } from "../types.ts";
import { Empty, ErrorBox, Field, fieldError, fmt, Loading, PageHeader, useAsync } from "../ui.tsx";

export default function LicencesPage() {
  const session = useSession();
  const skus = useAsync(() => apiGet<Sku[]>("/licences"), "licences");
  const canWrite = session.can("licences.write");
  const [done, setDone] = useState<string | null>(null);

  return (
    <div className="page">
      <PageHeader title="Licences" />
      {skus.loading && !skus.data && <Loading>Loading the licences…</Loading>}
      <ErrorBox error={skus.error} retry={skus.reload} />
      {done && (
        <p className="success" role="status">
          {done}
        </p>
      )}
      <section className="card" aria-labelledby="skus-h">
        <h2 id="skus-h">Licences (SKUs)</h2>
        {skus.data?.length === 0 && <Empty>The tenant has no licences yet{canWrite ? ": add one below." : "."}</Empty>}
        {skus.data && skus.data.length > 0 && (
          <div className="table-wrap">
            <table className="data" id="skus-table">
              <thead>
                <tr>
                  <th scope="col">SKU part number</th>
                  <th scope="col">Name</th>
                  <th scope="col">Service plans</th>
                  <th scope="col" className="num">
                    Seats
                  </th>
                  <th scope="col" className="num">
                    Used
                  </th>
                  <th scope="col" className="num">
                    Free
                  </th>
                  {canWrite && <th scope="col">Change seats</th>}
                </tr>
              </thead>
              <tbody>
                {skus.data.map((s) => (
                  <SkuRow
                    key={s.id}
                    sku={s}
                    canWrite={canWrite}
                    onSaved={(m) => {
                      setDone(m);
                      skus.reload();
                    }}
                  />
                ))}
              </tbody>
            </table>
          </div>
        )}
        <p className="muted">A licence can be removed once no user holds it. Assign and remove a user's licences on the user's page.</p>
      </section>
      {canWrite && (
        <AddSku
          onAdded={(m) => {
            setDone(m);
            skus.reload();
          }}
        />
      )}
    </div>
  );
}

function SkuRow({ sku, canWrite, onSaved }: { sku: Sku; canWrite: boolean; onSaved: (message: string) => void }) {
  const [seats, setSeats] = useState(String(sku.seats));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const remove = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await apiSend<Sku>("DELETE", `/licences/${seg(sku.skuPartNumber)}`);
      onSaved(`The licence ${r.skuPartNumber} was removed.`);
    } catch (err) {
      setError(err);
      setConfirming(false);
    } finally {
      setBusy(false);
    }
  };
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await apiSend<Sku>("PATCH", `/licences/${seg(sku.skuPartNumber)}`, { seats: Number(seats) });
      onSaved(`${r.skuPartNumber} now has ${fmt.format(r.seats)} seats.`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <tr>
      <th scope="row" className="mono">
        {sku.skuPartNumber}
      </th>
      <td>{sku.name}</td>
      <td>{sku.servicePlans.join(", ") || "—"}</td>
      <td className="num">{fmt.format(sku.seats)}</td>
      <td className="num">{fmt.format(sku.consumed)}</td>
      <td className="num">{fmt.format(sku.available)}</td>
      {canWrite && (
        <td>
          <form className="toolbar" onSubmit={(e) => void save(e)}>
            <Field label={`Seats of ${sku.skuPartNumber}`} error={fieldError(error, "seats", /seat/i)}>
              {(p) => (
                <input {...p} type="number" min={0} step={1} required value={seats} size={8} onChange={(e) => setSeats(e.target.value)} />
              )}
            </Field>
            <button type="submit" className="btn" disabled={busy || seats === String(sku.seats)}>
              Save<span className="sr-only"> seats of {sku.skuPartNumber}</span>
            </button>
            {confirming ? (
              <span>
                <button type="button" className="btn btn-danger" disabled={busy} onClick={() => void remove()}>
                  Remove {sku.skuPartNumber} from the tenant
                </button>{" "}
                <button type="button" className="btn" onClick={() => setConfirming(false)}>
                  Cancel
                </button>
              </span>
            ) : (
              <button type="button" className="btn" disabled={busy} onClick={() => setConfirming(true)}>
                Remove<span className="sr-only"> {sku.skuPartNumber}</span>
              </button>
            )}
          </form>
          {error !== null && !fieldError(error, "seats", /seat/i) && <ErrorBox error={error} />}
        </td>
      )}
    </tr>
  );
}

function AddSku({ onAdded }: { onAdded: (message: string) => void }) {
  const [part, setPart] = useState("");
  const [name, setName] = useState("");
  const [seats, setSeats] = useState("");
  const [plans, setPlans] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const add = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const servicePlans = plans
        .split(",")
        .map((p) => p.trim())
        .filter(Boolean);
      const r = await apiSend<Sku>("POST", "/licences", {
        skuPartNumber: part.trim(),
        name: name.trim() || undefined,
        seats: Number(seats),
        servicePlans: servicePlans.length ? servicePlans : undefined,
      });
      onAdded(`${r.skuPartNumber} added with ${fmt.format(r.seats)} seats.`);
      setPart("");
      setName("");
      setSeats("");
      setPlans("");
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const partError = fieldError(error, "skuPartNumber", /SKU part number/i);
  const seatsError = fieldError(error, "seats", /^Seats/);
  const plansError = fieldError(error, "servicePlans", /service plan/i);
  const nameError = fieldError(error, "name");
  return (
    <section className="card" aria-labelledby="add-sku-h">
      <h2 id="add-sku-h">Add a licence</h2>
      <form className="toolbar" onSubmit={(e) => void add(e)} aria-labelledby="add-sku-h">
        <Field label="SKU part number" error={partError}>
          {(p) => <input {...p} value={part} required placeholder="MCOMEETADV" onChange={(e) => setPart(e.target.value)} />}
        </Field>
        <Field label="Licence name (optional)" error={nameError}>
          {(p) => <input {...p} value={name} placeholder="Audio Conferencing" onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field label="Seats" error={seatsError}>
          {(p) => (
            <input {...p} type="number" min={0} step={1} required value={seats} size={8} onChange={(e) => setSeats(e.target.value)} />
          )}
        </Field>
        <Field label="Service plans (optional)" hint="comma-separated" error={plansError}>
          {(p) => <input {...p} value={plans} placeholder="MCOMEETADV" onChange={(e) => setPlans(e.target.value)} />}
        </Field>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Adding…" : "Add licence"}
        </button>
      </form>
      <ErrorBox error={error && !partError && !seatsError && !plansError && !nameError ? error : null} />
    </section>
  );
}
