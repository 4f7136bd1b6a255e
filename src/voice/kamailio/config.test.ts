// What the generated kamailio.cfg is made of. Its routing is exercised for real, through Kamailio and
// SIPp, in test/sip/kamailio.test.ts; here, the inputs it refuses and the lines an operator relies on.
import { describe, expect, it } from "vitest";
import { kamailioCommand, kamailioConfig } from "./config.ts";

const base = {
  sipListen: "127.0.0.1:5060",
  rpcListen: "127.0.0.1:5080",
  dataDir: "/var/lib/callplane/kamailio",
  runDir: "/run/callplane-kamailio",
};

describe("kamailioConfig", () => {
  it("listens for SIP on UDP and RPC on TCP at the given addresses, reading tables from dataDir", () => {
    const cfg = kamailioConfig({ ...base, children: 3 });
    expect(cfg.startsWith("#!KAMAILIO\n")).toBe(true);
    expect(cfg).toContain("listen=udp:127.0.0.1:5060\n");
    expect(cfg).toContain("listen=tcp:127.0.0.1:5080\n");
    expect(cfg).toContain("children=3\n");
    expect(cfg).toContain('rundir="/run/callplane-kamailio"');
    expect(cfg).toContain('modparam("htable", "db_url", "text:///var/lib/callplane/kamailio")');
    expect(cfg).toContain('modparam("dialplan", "reload_delta", 0)');
    expect(cfg).toContain('modparam("db_text", "db_mode", 1)');
    expect(cfg).toContain('modparam("jsonrpcs", "transport", 1)');
    // The script's own escapes reach Kamailio as written.
    expect(cfg).toContain(String.raw`append_hf("Privacy: id\r\n");`);
  });

  it.each([
    [{ sipListen: "localhost:5060" }, /sipListen must be an IPv4 address and port/],
    [{ rpcListen: "127.0.0.1:70000" }, /rpcListen must be an IPv4 address and port/],
    [{ rpcListen: "127.0.0.1:5060" }, /must differ/],
    [{ dataDir: "relative/dir" }, /dataDir must be an absolute path/],
    [{ runDir: '/tmp/a"b' }, /runDir must be an absolute path without quotes/],
    [{ children: 0 }, /children must be an integer from 1 to 64/],
  ])("refuses %j", (change, message) => {
    expect(() => kamailioConfig({ ...base, ...change })).toThrow(message);
  });
});

describe("kamailioCommand", () => {
  it("runs in the foreground, logging to stderr, with memory for 100k users", () => {
    expect(kamailioCommand("/etc/callplane/kamailio.cfg")).toEqual([
      "/usr/sbin/kamailio",
      "-f",
      "/etc/callplane/kamailio.cfg",
      "-DD",
      "-E",
      "-m",
      "1024",
      "-M",
      "256",
    ]);
  });
});
