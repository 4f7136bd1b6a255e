// The shell: the session decides between the sign-in page, the change-password form and the admin
// center; the admin center is a navigation and the page the path names.
import { type ComponentType, useEffect, useRef } from "react";
import { apiGet, currentTenant, type Permission, setTenant, signOut, useSession } from "./api.ts";
import AccessPage from "./pages/AccessPage.tsx";
import AuditPage from "./pages/AuditPage.tsx";
import ChangePasswordPage from "./pages/ChangePasswordPage.tsx";
import ConferencingPage from "./pages/ConferencingPage.tsx";
import DashboardPage from "./pages/DashboardPage.tsx";
import JobPage from "./pages/JobPage.tsx";
import JobsPage from "./pages/JobsPage.tsx";
import LicencesPage from "./pages/LicencesPage.tsx";
import MailMessagePage from "./pages/MailMessagePage.tsx";
import MailPage from "./pages/MailPage.tsx";
import SignInPage from "./pages/SignInPage.tsx";
import SyncPage from "./pages/SyncPage.tsx";
import UserPage from "./pages/UserPage.tsx";
import UsersPage from "./pages/UsersPage.tsx";
import VoicePage from "./pages/VoicePage.tsx";
import { Link, match, navigate, useLocation } from "./router.tsx";
import { Loading, useAsync } from "./ui.tsx";

interface RouteDef {
  path: string;
  // biome-ignore lint/suspicious/noExplicitAny: pages take their path params, or none
  page: ComponentType<any>;
  title: string;
}

const routes: RouteDef[] = [
  { path: "/dashboard", page: DashboardPage, title: "Dashboard" },
  { path: "/users", page: UsersPage, title: "Users" },
  { path: "/users/:id", page: UserPage, title: "User" },
  { path: "/conferencing", page: ConferencingPage, title: "Audio conferencing" },
  { path: "/jobs", page: JobsPage, title: "Bulk jobs" },
  { path: "/jobs/:id", page: JobPage, title: "Bulk job" },
  { path: "/mail", page: MailPage, title: "Mail" },
  { path: "/mail/:id", page: MailMessagePage, title: "Message" },
  { path: "/voice", page: VoicePage, title: "Voice" },
  { path: "/sync", page: SyncPage, title: "Directory sync" },
  { path: "/audit", page: AuditPage, title: "Audit log" },
  { path: "/licences", page: LicencesPage, title: "Licences" },
  { path: "/access", page: AccessPage, title: "Access" },
];

const nav: { to: string; label: string; permission: Permission }[] = [
  { to: "/dashboard", label: "Dashboard", permission: "users.read" },
  { to: "/users", label: "Users", permission: "users.read" },
  { to: "/conferencing", label: "Audio conferencing", permission: "conferencing.read" },
  { to: "/jobs", label: "Bulk jobs", permission: "jobs.read" },
  { to: "/mail", label: "Mail", permission: "conferencing.read" },
  { to: "/voice", label: "Voice", permission: "voice.read" },
  { to: "/sync", label: "Directory sync", permission: "audit.read" },
  { to: "/audit", label: "Audit log", permission: "audit.read" },
  { to: "/licences", label: "Licences", permission: "licences.read" },
  { to: "/access", label: "Access", permission: "auth.admin" },
];

export function App() {
  const session = useSession();
  if (session.status === "loading") return <Loading>Opening the admin center…</Loading>;
  if (session.status === "signed-out") return <SignInPage />;
  if (session.status === "must-change-password") return <ChangePasswordPage />;
  return <Shell />;
}

function Shell() {
  const { path } = useLocation();
  const session = useSession();
  const main = useRef<HTMLElement>(null);

  useEffect(() => {
    if (path === "/" || path === "") navigate("/dashboard", { replace: true });
  }, [path]);

  let found: { def: RouteDef; params: Record<string, string> } | null = null;
  for (const def of routes) {
    const params = match(def.path, path);
    if (params) {
      found = { def, params };
      break;
    }
  }
  const title = found?.def.title ?? "Not found";

  // A new page: its title in the tab, and the focus on its heading so a screen reader reads it.
  const first = useRef(true);
  useEffect(() => {
    document.title = `${title} · Callplane`;
    if (first.current) {
      first.current = false;
      return;
    }
    const h1 = main.current?.querySelector("h1");
    if (h1 instanceof HTMLElement) h1.focus();
  }, [title]);

  const Page = found?.def.page;
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Callplane</span>
        <TenantSwitcher />
        <span className="who">
          {session.principal?.name} <span className="role">({session.principal?.role})</span>
        </span>
        <button type="button" className="btn btn-quiet" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <nav className="sidenav" aria-label="Admin center">
        <ul>
          {nav
            .filter((n) => session.can(n.permission))
            .map((n) => {
              const active = path === n.to || path.startsWith(`${n.to}/`);
              return (
                <li key={n.to}>
                  <Link to={n.to} aria-current={active ? "page" : undefined} className={active ? "active" : undefined}>
                    {n.label}
                  </Link>
                </li>
              );
            })}
        </ul>
      </nav>
      <main id="main" ref={main} tabIndex={-1}>
        {Page && found ? (
          <Page key={found.def.path} {...found.params} />
        ) : (
          <div className="page">
            <h1 tabIndex={-1}>Page not found</h1>
            <p className="empty">
              There is no page at {path}. <Link to="/dashboard">Go to the dashboard</Link>.
            </p>
          </div>
        )}
      </main>
    </div>
  );
}

interface Tenant {
  id: string;
  name: string;
  domain: string;
}

/** With several tenants, which one the pages show (the API's X-Callplane-Tenant); hidden with one. */
function TenantSwitcher() {
  const tenants = useAsync(() => apiGet<Tenant[]>("/tenants"), "tenants");
  const list = tenants.data ?? [];
  const chosen = list.find((t) => t.id === currentTenant());
  useEffect(() => {
    // A remembered tenant that is gone, or several tenants and none chosen: take the first.
    if (list.length > 1 && !chosen && list[0]) {
      setTenant(list[0].id);
      window.location.reload();
    }
    if (list.length === 1 && currentTenant()) setTenant(null);
  }, [list, chosen]);
  if (list.length < 2) return null;
  return (
    <label className="tenant">
      Tenant{" "}
      <select
        value={chosen?.id ?? ""}
        onChange={(e) => {
          setTenant(e.target.value);
          window.location.reload();
        }}
      >
        {list.map((t) => (
          <option key={t.id} value={t.id}>
            {t.name} ({t.domain})
          </option>
        ))}
      </select>
    </label>
  );
}
