import path from "node:path";
import { AppError } from "../../core/errors.ts";
import { kamailioCommand, kamailioConfig } from "./config.ts";

/** What `callplane kamailio config` is given; every part has a default for a proxy on this machine. */
export interface KamailioConfigInput {
  sip?: string;
  rpc?: string;
  dataDir?: string;
  runDir?: string;
}

export const KAMAILIO_DEFAULTS = {
  sip: "127.0.0.1:5060",
  rpc: "127.0.0.1:5080",
  dataDir: "/var/lib/callplane/kamailio",
  runDir: "/run/kamailio",
} as const;

/**
 * `callplane kamailio config`: the kamailio.cfg for one proxy and the command line that runs it
 * (written to `<dataDir>/../kamailio.cfg` in the command shown). Bad addresses or folders are refused
 * naming the fix.
 */
export function generateKamailioConfig(input: KamailioConfigInput): { config: string; command: string[] } {
  const o = {
    sipListen: input.sip ?? KAMAILIO_DEFAULTS.sip,
    rpcListen: input.rpc ?? KAMAILIO_DEFAULTS.rpc,
    dataDir: input.dataDir ?? KAMAILIO_DEFAULTS.dataDir,
    runDir: input.runDir ?? KAMAILIO_DEFAULTS.runDir,
  };
  try {
    const config = kamailioConfig(o);
    return { config, command: kamailioCommand(path.join(path.dirname(o.dataDir), "kamailio.cfg")) };
  } catch (err) {
    throw new AppError("invalid_input", err instanceof Error ? err.message : String(err));
  }
}
