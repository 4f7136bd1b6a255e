// A small router over the History API: the admin center has a dozen routes and no nesting, so a
// library would add more than it saves. Query strings hold page state (filters, sort, page) so a
// view can be bookmarked and the Back button works.
import { type AnchorHTMLAttributes, type MouseEvent, useSyncExternalStore } from "react";

const NAV_EVENT = "callplane:navigate";

function subscribe(l: () => void): () => void {
  window.addEventListener("popstate", l);
  window.addEventListener(NAV_EVENT, l);
  return () => {
    window.removeEventListener("popstate", l);
    window.removeEventListener(NAV_EVENT, l);
  };
}

const current = () => `${window.location.pathname}${window.location.search}`;

/** The current path and query, e.g. `/users?filter=ready`. Re-renders on every navigation. */
export function useLocation(): { path: string; search: URLSearchParams; href: string } {
  const href = useSyncExternalStore(subscribe, current, current);
  const i = href.indexOf("?");
  return { path: i < 0 ? href : href.slice(0, i), search: new URLSearchParams(i < 0 ? "" : href.slice(i + 1)), href };
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (to === current()) return;
  if (opts.replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  window.dispatchEvent(new Event(NAV_EVENT));
}

/** Matches `/users/:id` against a path; the params are decoded. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split("/").filter(Boolean);
  const a = path.split("/").filter(Boolean);
  if (p.length !== a.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const want = p[i] ?? "";
    const got = a[i] ?? "";
    if (want.startsWith(":")) params[want.slice(1)] = decodeURIComponent(got);
    else if (want !== got) return null;
  }
  return params;
}

/** A link that navigates without reloading (and still opens a new tab with Ctrl/Cmd-click). */
export function Link({ to, onClick, ...rest }: { to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const click = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={click} {...rest} />;
}

/** Builds `path?query` from a URLSearchParams, dropping empty values. */
export function withQuery(path: string, params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}
