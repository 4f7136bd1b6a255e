// Users: a server-side paginated, sortable, searchable table with the admin center's filters. The
// filters, sort and page live in the query string; only the page of users shown is ever fetched.
import { type FormEvent, useEffect, useMemo, useRef, useState } from "react";
import { apiGet, apiSend, seg, useSession } from "../api.ts";
import { BulkMove, BulkUserMove } from "../BulkMove.tsx";
import { Link, navigate, useLocation, withQuery } from "../router.tsx";
import { type LifecycleState, lifecycleLabel, lifecycleStates, type Provider, type User, type UserPage } from "../types.ts";
import { Badge, Empty, ErrorBox, Field, fieldError, fmt, PageHeader, useAsync } from "../ui.tsx";

const PAGE_SIZE = 50;

type SortKey = "displayName" | "userPrincipalName" | "provider" | "lifecycle";

interface Filters {
  search: string;
  view: "all" | "ready";
  provider: string;
  licensed: "" | "true" | "false";
  homing: "" | "online" | "on-premises";
  lifecycle: "" | LifecycleState;
  sort: SortKey;
  order: "asc" | "desc";
  page: number;
}

function readFilters(q: URLSearchParams): Filters {
  const sort = q.get("sort");
  return {
    search: q.get("search") ?? "",
    view: q.get("view") === "ready" ? "ready" : "all",
    provider: q.get("provider") ?? "",
    licensed: q.get("licensed") === "true" ? "true" : q.get("licensed") === "false" ? "false" : "",
    homing: q.get("homing") === "online" ? "online" : q.get("homing") === "on-premises" ? "on-premises" : "",
    lifecycle: (lifecycleStates.find((s) => s.id === q.get("lifecycle"))?.id ?? "") as Filters["lifecycle"],
    sort: sort === "displayName" || sort === "provider" || sort === "lifecycle" ? sort : "userPrincipalName",
    order: q.get("order") === "desc" ? "desc" : "asc",
    page: Math.max(1, Number.parseInt(q.get("page") ?? "1", 10) || 1),
  };
}

function hrefOf(f: Filters): string {
  return withQuery("/users", {
    search: f.search,
    view: f.view === "ready" ? "ready" : "",
    provider: f.provider,
    licensed: f.licensed,
    homing: f.homing,
    lifecycle: f.lifecycle,
    sort: f.sort === "userPrincipalName" ? "" : f.sort,
    order: f.order === "asc" ? "" : f.order,
    page: f.page > 1 ? f.page : "",
  });
}

export function providerLabel(u: User): string {
  return u.provider.kind === "none" ? "None" : (u.provider.name ?? u.provider.kind);
}

export default function UsersPage() {
  const { search: params } = useLocation();
  const session = useSession();
  const f = readFilters(params);
  const set = (change: Partial<Filters>, replace = false) => navigate(hrefOf({ ...f, page: 1, ...change }), { replace });

  const query = {
    search: f.search,
    readyForAudioConferencing: f.view === "ready" ? "true" : undefined,
    provider: f.provider,
    licensed: f.licensed,
    homing: f.homing,
    lifecycle: f.lifecycle,
    sort: f.sort,
    order: f.order,
    limit: PAGE_SIZE,
    offset: (f.page - 1) * PAGE_SIZE,
  };
  const key = JSON.stringify(query);
  // The page first, without counting (the count of a filter over a large tenant costs more than the
  // page); the total follows in its own request.
  const users = useAsync(() => apiGet<UserPage>("/users", { ...query, count: false }), key);
  const { limit: _limit, offset: _offset, sort: _sort, order: _order, ...filters } = query;
  const totalKey = JSON.stringify(filters);
  const counted = useAsync(() => apiGet<UserPage>("/users", { ...filters, limit: 0 }), totalKey);
  const providers = useAsync(() => apiGet<Provider[]>("/conferencing/providers"), "providers");

  // The search box updates the query string a moment after typing stops.
  const [searchText, setSearchText] = useState(f.search);
  const typed = useRef(false);
  useEffect(() => {
    if (!typed.current) return;
    const t = setTimeout(() => {
      typed.current = false;
      set({ search: searchText.trim() }, true);
    }, 250);
    return () => clearTimeout(t);
  });
  useEffect(() => {
    if (!typed.current) setSearchText(f.search);
  }, [f.search]);

  const [adding, setAdding] = useState(false);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [bulk, setBulk] = useState<null | "selection" | "ready" | "online" | "provider">(null);
  // A new filter is a new set of users: the selection does not carry over.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the key names the set of users shown
  useEffect(() => setSelected(new Set()), [key]);

  const page = users.data;
  const items = page?.items ?? [];
  // The total of these filters once counted (the previous filters' total is never shown for new ones).
  const countReady = !counted.loading && counted.data !== undefined;
  const total = countReady ? (counted.data?.total ?? 0) : null;
  const pages = total === null ? null : Math.max(1, Math.ceil(total / PAGE_SIZE));
  const allOnPage = items.length > 0 && items.every((u) => selected.has(u.userPrincipalName));
  const stale = users.loading && page !== undefined;

  const toggle = (upn: string) => {
    const next = new Set(selected);
    if (next.has(upn)) next.delete(upn);
    else next.add(upn);
    setSelected(next);
  };

  const sortHeader = (key: SortKey, label: string) => {
    const active = f.sort === key;
    return (
      <th scope="col" aria-sort={active ? (f.order === "asc" ? "ascending" : "descending") : "none"}>
        <button type="button" onClick={() => set({ sort: key, order: active && f.order === "asc" ? "desc" : "asc" })}>
          {label}
        </button>
      </th>
    );
  };

  // A third party named in the Provider filter: its users can be moved as the seed's -ACPProviderName does.
  const namedProvider = f.provider && !["microsoft", "third-party", "none"].includes(f.provider) ? f.provider : null;
  const providerOptions = useMemo(() => (providers.data ?? []).filter((p) => !p.isMicrosoft).map((p) => p.identity), [providers.data]);

  return (
    <div className="page">
      <PageHeader title="Users">
        {session.can("users.write") && (
          <button type="button" className="btn" aria-expanded={adding} onClick={() => setAdding(!adding)}>
            Add a user…
          </button>
        )}
      </PageHeader>
      {adding && <AddUser onCancel={() => setAdding(false)} />}
      <form className="card toolbar" aria-label="Filter users" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="users-search">Search</label>
          <input
            id="users-search"
            type="search"
            placeholder="Name, UPN, SIP address or alias"
            value={searchText}
            onChange={(e) => {
              typed.current = true;
              setSearchText(e.target.value);
            }}
          />
        </div>
        <div className="field">
          <label htmlFor="users-view">Filter</label>
          <select id="users-view" value={f.view} onChange={(e) => set({ view: e.target.value === "ready" ? "ready" : "all" })}>
            <option value="all">All users</option>
            <option value="ready">Users ready to be moved to Audio Conferencing</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="users-provider">Provider</label>
          <select id="users-provider" value={f.provider} onChange={(e) => set({ provider: e.target.value })}>
            <option value="">Any</option>
            <option value="microsoft">Microsoft</option>
            <option value="third-party">Any third party</option>
            {providerOptions.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
            <option value="none">None</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="users-licence">Audio Conferencing licence</label>
          <select id="users-licence" value={f.licensed} onChange={(e) => set({ licensed: e.target.value as Filters["licensed"] })}>
            <option value="">Any</option>
            <option value="true">Licensed</option>
            <option value="false">Not licensed</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="users-homing">Homing</label>
          <select id="users-homing" value={f.homing} onChange={(e) => set({ homing: e.target.value as Filters["homing"] })}>
            <option value="">Any</option>
            <option value="online">Online</option>
            <option value="on-premises">On-premises</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="users-lifecycle">Lifecycle state</label>
          <select id="users-lifecycle" value={f.lifecycle} onChange={(e) => set({ lifecycle: e.target.value as Filters["lifecycle"] })}>
            <option value="">Any</option>
            {lifecycleStates.map((s) => (
              <option key={s.id} value={s.id}>
                {s.label}
              </option>
            ))}
          </select>
        </div>
      </form>

      {(session.can("conferencing.bulk") || session.can("users.move")) && (
        <section className="toolbar" aria-label="Bulk actions">
          <span className="muted" aria-live="polite">
            {selected.size > 0 ? `${selected.size} selected` : "Select users for bulk actions"}
          </span>
          {session.can("conferencing.bulk") && (
            <button
              type="button"
              className="btn"
              disabled={selected.size === 0}
              onClick={() => setBulk(bulk === "selection" ? null : "selection")}
            >
              Move selected to Microsoft…
            </button>
          )}
          {session.can("users.move") && (
            <button
              type="button"
              className="btn"
              disabled={selected.size === 0}
              onClick={() => setBulk(bulk === "online" ? null : "online")}
            >
              Move selected online…
            </button>
          )}
          {namedProvider && total !== null && total > 0 && session.can("conferencing.bulk") && (
            <button type="button" className="btn" onClick={() => setBulk(bulk === "provider" ? null : "provider")}>
              Move all {fmt.format(total)} users of {namedProvider}…
            </button>
          )}
          {f.view === "ready" && total !== null && total > 0 && session.can("conferencing.bulk") && (
            <button type="button" className="btn" onClick={() => setBulk(bulk === "ready" ? null : "ready")}>
              Move all {fmt.format(total)} ready users…
            </button>
          )}
          {selected.size > 0 && (
            <button type="button" className="btn-link" onClick={() => setSelected(new Set())}>
              Clear selection
            </button>
          )}
        </section>
      )}
      {bulk === "selection" && selected.size > 0 && (
        <BulkMove
          source={{ identities: [...selected] }}
          what={`the ${selected.size} selected users`}
          onDone={() => setSelected(new Set())}
        />
      )}
      {bulk === "provider" && namedProvider && (
        <BulkMove source={{ fromProvider: namedProvider }} what={`every user whose audio conferencing provider is ${namedProvider}`} />
      )}
      {bulk === "online" && selected.size > 0 && <BulkUserMove identities={[...selected]} onDone={() => setSelected(new Set())} />}
      {bulk === "ready" && (
        <BulkMove source={{ ready: true }} what="every user with an Audio Conferencing licence whose provider is not Microsoft" />
      )}

      <ErrorBox error={users.error} retry={users.reload} />
      {users.loading && !page && (
        <p className="loading" role="status">
          Loading users…
        </p>
      )}
      {page && items.length === 0 && !users.loading && <Empty>No users match these filters.</Empty>}
      {page && items.length > 0 && (
        <div className="table-wrap">
          <table className="data" id="users-table" aria-busy={stale} data-state={stale ? "loading" : "ready"}>
            <caption>
              <span role="status">
                {stale
                  ? "Loading…"
                  : `Showing ${fmt.format(page.offset + 1)}–${fmt.format(page.offset + items.length)} of ${total === null ? "…" : fmt.format(total)} users`}
              </span>
            </caption>
            <thead>
              <tr>
                <th scope="col">
                  <input
                    type="checkbox"
                    aria-label="Select every user on this page"
                    checked={allOnPage}
                    onChange={() => {
                      const next = new Set(selected);
                      for (const u of items) {
                        if (allOnPage) next.delete(u.userPrincipalName);
                        else next.add(u.userPrincipalName);
                      }
                      setSelected(next);
                    }}
                  />
                </th>
                {sortHeader("displayName", "Display name")}
                {sortHeader("userPrincipalName", "User principal name")}
                {sortHeader("provider", "Provider")}
                <th scope="col">Audio Conferencing licence</th>
                <th scope="col">Homing</th>
                {sortHeader("lifecycle", "Lifecycle state")}
              </tr>
            </thead>
            <tbody>
              {items.map((u) => (
                <tr key={u.id} aria-selected={selected.has(u.userPrincipalName)}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Select ${u.displayName}`}
                      checked={selected.has(u.userPrincipalName)}
                      onChange={() => toggle(u.userPrincipalName)}
                    />
                  </td>
                  <td>
                    <Link to={`/users/${seg(u.userPrincipalName)}`}>{u.displayName}</Link>
                  </td>
                  <td>{u.userPrincipalName}</td>
                  <td>
                    {providerLabel(u)}
                    {u.readyForAudioConferencing && (
                      <>
                        {" "}
                        <Badge tone="warn">ready to move</Badge>
                      </>
                    )}
                  </td>
                  <td>{u.audioConferencingLicensed ? "Yes" : "No"}</td>
                  <td>{u.voice.homing === "online" ? "Online" : "On-premises"}</td>
                  <td>{lifecycleLabel(u.voice.interpretedUserType)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {page && (f.page > 1 || items.length === PAGE_SIZE) && (total === null || total > PAGE_SIZE) && (
        <nav className="pager" aria-label="Pages">
          <button type="button" className="btn" disabled={f.page <= 1} onClick={() => navigate(hrefOf({ ...f, page: f.page - 1 }))}>
            Previous
          </button>
          <span>
            Page {fmt.format(f.page)}
            {pages === null ? "" : ` of ${fmt.format(pages)}`}
          </span>
          <button
            type="button"
            className="btn"
            disabled={pages === null ? items.length < PAGE_SIZE : f.page >= pages}
            onClick={() => navigate(hrefOf({ ...f, page: f.page + 1 }))}
          >
            Next
          </button>
        </nav>
      )}
    </div>
  );
}

/** Adds a cloud user (callplane users add), then opens its properties. */
function AddUser({ onCancel }: { onCancel: () => void }) {
  const [upn, setUpn] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [usageLocation, setUsageLocation] = useState("");
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const user = await apiSend<User>("POST", "/users", {
        userPrincipalName: upn.trim(),
        displayName: displayName.trim() || undefined,
        usageLocation: usageLocation.trim() || undefined,
      });
      navigate(`/users/${seg(user.userPrincipalName)}`);
    } catch (err) {
      setError(err);
    }
  };
  const upnError = fieldError(error, "userPrincipalName", /user principal name|UPN/i);
  const locationError = fieldError(error, "usageLocation", /^Usage location/i);
  return (
    <form className="card toolbar" onSubmit={submit} aria-label="Add a user">
      <Field label="User principal name" error={upnError}>
        {(p) => <input {...p} required value={upn} placeholder="alice@contoso.com" onChange={(e) => setUpn(e.target.value)} />}
      </Field>
      <Field label="Display name">{(p) => <input {...p} value={displayName} onChange={(e) => setDisplayName(e.target.value)} />}</Field>
      <Field label="Usage location" error={locationError}>
        {(p) => (
          <input {...p} value={usageLocation} maxLength={2} size={3} placeholder="US" onChange={(e) => setUsageLocation(e.target.value)} />
        )}
      </Field>
      <button type="submit" className="btn btn-primary">
        Add user
      </button>
      <button type="button" className="btn" onClick={onCancel}>
        Cancel
      </button>
      <ErrorBox error={upnError || locationError ? null : error} />
    </form>
  );
}
