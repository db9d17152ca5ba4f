// What the daemon and its watchdog say to each other over the pipes between them (one word each).

/** Watchdog → daemon (stdout): modules loaded, recovery can run the moment the daemon dies. */
export const READY = 'ready\n';
/** Daemon → watchdog (stdin): a deliberate stop; exit without touching the journal. */
export const BYE = 'bye\n';
