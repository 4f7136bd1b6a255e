import { describe, expect, it } from "vitest";
import { AppError, translateError } from "./errors.ts";

const pgError = (code: string, constraint?: string, detail?: string) => Object.assign(new Error("db"), { code, constraint, detail });

describe("translateError", () => {
  it.each([
    ["dial_in_users_pkey", "already_enabled", /another change at the same moment/],
    ["jobs_unfinished_fingerprint", "job_claimed", /already planned as an unfinished job/],
    ["user_acp_entries_user_name", "duplicate", /already has an entry for that provider/],
    ["pstn_gateways_tenant_fqdn", "duplicate", /PSTN gateway with that address/],
    ["normalization_rules_plan_name", "duplicate", /normalization rule with that name/],
  ])("names what clashed for %s", (constraint, code, message) => {
    const e = translateError(pgError("23505", constraint));
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe(code);
    expect((e as AppError).message).toMatch(message);
  });

  it("names an unknown constraint and the clashing value rather than a bare 'already in use'", () => {
    const e = translateError(pgError("23505", "widgets_tenant_colour", "Key (tenant_id, lower(colour))=(abc, blue) already exists."));
    expect((e as AppError).code).toBe("duplicate");
    expect((e as AppError).message).toBe(
      "That tenant_id, lower(colour) (abc, blue) is already in use (widgets_tenant_colour): choose another.",
    );
  });

  it("tells a deadlock or serialization failure as a change to try again, never a 500", () => {
    for (const code of ["40P01", "40001"]) {
      const e = translateError(pgError(code));
      expect((e as AppError).code).toBe("unavailable");
      expect((e as AppError).message).toMatch(/try again/);
    }
  });
});
