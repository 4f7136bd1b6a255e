// Text from user data (display names, identities, CSV headers, API messages that quote them) must not
// drive the administrator's terminal: an ESC or C1 control starts a sequence that can retitle the
// window, clear the screen or rewrite earlier lines, and a bidi override reorders what is shown.
// Such characters are shown as visible escapes instead; --json output needs none of this, as JSON
// escapes control characters itself.

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const UNSAFE_IN_LINES = /\r(?!\n)|[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const UNSAFE_IN_VALUE = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function visible(ch: string): string {
  const named = NAMED[ch];
  if (named !== undefined) return named;
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * Output for the terminal: C0 controls, DEL, C1 controls and bidi overrides shown as `\x1b`,
 * `\x9b`, `\u202e`…; line feeds, tabs and CR LF line ends are kept, a lone CR is shown as `\r`.
 */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE_IN_LINES, visible);
}

/** One value within a line (a table cell): as terminalSafe, and line feeds and tabs shown as `\n` and `\t` too. */
export function terminalSafeValue(text: string): string {
  return text.replace(UNSAFE_IN_VALUE, visible);
}
