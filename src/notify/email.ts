// What a dial-in email says, before it is queued (sealed) in the outbox and rendered by render.ts.
export interface DialInEmail {
  to: string;
  toName: string;
  from: string;
  fromName: string;
  /** What happened, e.g. "Your audio conferencing provider is now Microsoft". */
  subject: string;
  conferenceId: string | null;
  tollNumber: string | null;
  tollFreeNumber: string | null;
  /** Where the numbers are: "Redmond, United States" (filled in when the message is queued). */
  tollPlace?: string | null;
  tollFreePlace?: string | null;
  /** Only when a PIN was generated or reset: the one place it is sent. */
  pin: string | null;
  lines: string[];
}
