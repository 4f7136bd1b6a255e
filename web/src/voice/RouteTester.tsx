// Test-CsVoicePolicy in the browser: pick a user (or a policy and a dial plan) and a dialled number;
// the server normalizes it, resolves usage, route and gateways, and says why every other rule and
// route was passed over. This page only shows the answer.
import { type FormEvent, useEffect, useId, useState } from "react";
import { apiGet, apiSend } from "../api.ts";
import { Badge } from "../ui.tsx";
import { Field, FormError, useApiForm } from "./forms.tsx";
import type { DialPlan, Policy, RouteTest, UserPage } from "./types.ts";

const OUTCOME_LABELS: Record<string, string> = {
  chosen: "chosen",
  backup: "backup",
  outranked: "outranked",
  no_match: "no match",
  usage_has_no_routes: "usage has no routes",
  usage_not_evaluated: "not evaluated",
  not_in_policy: "not in the policy",
};

function Outcome({ outcome }: { outcome: string }) {
  return (
    <Badge tone={outcome === "chosen" ? "good" : outcome === "backup" ? "info" : "neutral"}>{OUTCOME_LABELS[outcome] ?? outcome}</Badge>
  );
}

/** Users matching what was typed, for the user field's suggestions. */
function useUserSuggestions(search: string): string[] {
  const [found, setFound] = useState<string[]>([]);
  useEffect(() => {
    const q = search.trim();
    if (q.length < 2) {
      setFound([]);
      return;
    }
    let live = true;
    const t = setTimeout(() => {
      apiGet<UserPage>("/users", { search: q, limit: 10 }).then(
        (page) => {
          if (live) setFound(page.items.map((u) => u.userPrincipalName));
        },
        () => {
          if (live) setFound([]);
        },
      );
    }, 250);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [search]);
  return found;
}

function Result({ r }: { r: RouteTest }) {
  const norm = r.normalization;
  return (
    <section aria-labelledby="route-test-result" className="card route-test-result">
      <h3 id="route-test-result">
        {r.route ? (
          <>
            Routed by <strong data-testid="chosen-route">{r.route}</strong>
          </>
        ) : (
          "No route matches: the call would not be routed"
        )}
      </h3>
      <dl className="grid-2">
        <div>
          <dt>Dialled number</dt>
          <dd>
            <code>{r.dialledNumber}</code>
          </dd>
        </div>
        <div>
          <dt>Normalized number</dt>
          <dd>
            {norm ? (
              norm.normalizedNumber ? (
                <>
                  <code>{norm.normalizedNumber}</code> by rule <strong>{norm.rule}</strong>
                </>
              ) : (
                "No rule matched: the number is routed as dialled"
              )
            ) : (
              "Not normalized (no dial plan)"
            )}
          </dd>
        </div>
        <div>
          <dt>Number routed</dt>
          <dd>
            <code>{r.routedNumber}</code>
          </dd>
        </div>
        <div>
          <dt>Voice routing policy</dt>
          <dd>{r.policy}</dd>
        </div>
        <div>
          <dt>Dial plan</dt>
          <dd>{r.dialPlan ?? "—"}</dd>
        </div>
        <div>
          <dt>PSTN usage</dt>
          <dd>{r.usage ?? "—"}</dd>
        </div>
        <div>
          <dt>Gateways</dt>
          <dd>{r.gateways.length ? r.gateways.join(", ") : "—"}</dd>
        </div>
        <div>
          <dt>Backup routes</dt>
          <dd>{r.backupRoutes.length ? r.backupRoutes.join(", ") : "—"}</dd>
        </div>
      </dl>
      {r.warnings.length > 0 ? (
        <div className="card" role="note">
          <p>
            <strong>Warnings</strong>
          </p>
          <ul>
            {r.warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </div>
      ) : null}
      {norm && norm.trace.length > 0 ? (
        <>
          <h4>Normalization rules considered</h4>
          <table className="data" data-testid="normalization-trace">
            <caption className="sr-only">Every normalization rule of {r.dialPlan} and why it was or was not used</caption>
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">Priority</th>
                <th scope="col">Outcome</th>
                <th scope="col">Why</th>
              </tr>
            </thead>
            <tbody>
              {norm.trace.map((t) => (
                <tr key={t.rule}>
                  <th scope="row">{t.rule}</th>
                  <td>{t.priority}</td>
                  <td>
                    <Outcome outcome={t.outcome} />
                  </td>
                  <td>{t.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
      <h4>Routes considered</h4>
      {r.trace.length === 0 ? (
        <p className="empty">The policy has no PSTN usages, so no route was considered.</p>
      ) : (
        <table className="data" data-testid="route-trace">
          <caption className="sr-only">
            Every PSTN usage and voice route considered, in order, and why each was chosen or passed over
          </caption>
          <thead>
            <tr>
              <th scope="col">PSTN usage</th>
              <th scope="col">Route</th>
              <th scope="col">Priority</th>
              <th scope="col">Outcome</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {r.trace.map((t) => (
              <tr key={`${t.usage ?? ""}|${t.route ?? ""}|${t.outcome}`} className={t.outcome === "chosen" ? "row-chosen" : undefined}>
                <td>{t.usage ?? "—"}</td>
                <th scope="row">{t.route ?? "—"}</th>
                <td>{t.priority ?? "—"}</td>
                <td>
                  <Outcome outcome={t.outcome} />
                </td>
                <td>{t.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

const FIELDS = ["user", "policy", "dialPlan", "number"] as const;

/** The route tester: who calls (a user, or a policy and dial plan), what they dial, and the answer. */
export function RouteTester({ policies, dialPlans }: { policies: Policy[]; dialPlans: DialPlan[] }) {
  const [mode, setMode] = useState<"user" | "policy">("user");
  const [user, setUser] = useState("");
  const [policy, setPolicy] = useState("Global");
  const [dialPlan, setDialPlan] = useState("");
  const [number, setNumber] = useState("");
  const { errors, busy, submit: run } = useApiForm(FIELDS);
  const [result, setResult] = useState<RouteTest | null>(null);
  const suggestions = useUserSuggestions(mode === "user" ? user : "");
  const listId = useId();

  function submit(e: FormEvent) {
    const body =
      mode === "user"
        ? { user: user.trim(), number: number.trim(), ...(dialPlan ? { dialPlan } : {}) }
        : { policy, number: number.trim(), ...(dialPlan ? { dialPlan } : {}) };
    return run(e, async () => {
      try {
        setResult(await apiSend<RouteTest>("POST", "/voice/test/route", body));
      } catch (err) {
        setResult(null);
        throw err;
      }
    });
  }

  return (
    <div>
      <form onSubmit={submit} className="card" aria-labelledby="route-tester-title">
        <h3 id="route-tester-title">Test a call</h3>
        <fieldset className="radios">
          <legend>Who calls</legend>
          <label className="check">
            <input type="radio" name="tester-mode" value="user" checked={mode === "user"} onChange={() => setMode("user")} /> A user (their
            effective policy and dial plan)
          </label>
          <label className="check">
            <input type="radio" name="tester-mode" value="policy" checked={mode === "policy"} onChange={() => setMode("policy")} /> A voice
            routing policy
          </label>
        </fieldset>
        <div className="form-grid">
          {mode === "user" ? (
            <Field label="User" error={errors.fields.user} hint="UPN, SIP address or alias">
              {(p) => (
                <>
                  <input
                    {...p}
                    type="text"
                    list={listId}
                    autoComplete="off"
                    required
                    value={user}
                    onChange={(e) => setUser(e.target.value)}
                  />
                  <datalist id={listId}>
                    {suggestions.map((s) => (
                      <option key={s} value={s} />
                    ))}
                  </datalist>
                </>
              )}
            </Field>
          ) : (
            <Field label="Voice routing policy" error={errors.fields.policy}>
              {(p) => (
                <select {...p} value={policy} onChange={(e) => setPolicy(e.target.value)}>
                  {policies.map((x) => (
                    <option key={x.identity} value={x.identity}>
                      {x.identity}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          )}
          <Field label="Dial plan" error={errors.fields.dialPlan}>
            {(p) => (
              <select {...p} value={dialPlan} onChange={(e) => setDialPlan(e.target.value)}>
                <option value="">{mode === "user" ? "The user's own" : "None (as dialled)"}</option>
                {dialPlans.map((x) => (
                  <option key={x.identity} value={x.identity}>
                    {x.identity}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Dialled number" error={errors.fields.number} hint="As the user dials it, e.g. 4255550123 or 011442071234567">
            {(p) => (
              <input
                {...p}
                type="text"
                inputMode="tel"
                autoComplete="off"
                required
                value={number}
                onChange={(e) => setNumber(e.target.value)}
              />
            )}
          </Field>
        </div>
        <FormError message={errors.general} />
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Testing…" : "Test route"}
        </button>
      </form>
      {/* A short answer for screen readers; the full result and its traces follow as tables. */}
      <p className="sr-only" role="status">
        {result
          ? result.route
            ? `Routed by ${result.route} through ${result.gateways.join(", ") || "no gateway"}.`
            : "No route matches this number."
          : ""}
      </p>
      {result ? <Result r={result} /> : null}
    </div>
  );
}
