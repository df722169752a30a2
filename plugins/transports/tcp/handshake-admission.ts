/**
 * Admission of inbound peer connections before they authenticate. Until a connection has
 * proved it holds the cluster secret, anyone who can reach the peer port can open it, and each
 * one holds a socket, a frame buffer and a timer on this node. So at most a fixed number may be
 * handshaking at once; a connection beyond that is closed on arrival. Authenticated peers do not
 * count: their connections leave the pool as soon as the handshake succeeds.
 *
 * Turned-away connections are reported in at most one log line per interval, however many
 * arrive: a flood of connections must not become a flood of log lines.
 *
 * @module
 */
import type { Timer } from "../../../core/interfaces/clock.ts";
import type { Logger } from "../../../core/interfaces/logger.ts";

/** How often, at most, turned-away connections are logged, ms. */
export const TURNED_AWAY_REPORT_MS = 10_000;

/** What {@link HandshakeAdmission} runs on. */
export interface HandshakeAdmissionDeps {
  /** Where turned-away connections are reported. */
  readonly logger: Logger;
  /** Timers (the transport's, so stopping it cancels them). */
  schedule(ms: number, callback: () => void): Timer;
}

/**
 * Counts inbound connections that have not completed the handshake, refusing new ones beyond
 * `limit`.
 *
 * @example
 * ```ts
 * const admission = new HandshakeAdmission(64, { logger, schedule });
 * const release = admission.admit(remote);
 * if (!release) socket.destroy();
 * else socket.once("close", release); // and call release() once the peer has authenticated
 * ```
 */
export class HandshakeAdmission {
  #handshaking = 0;
  /** Turned away since the last report; reported when the current interval ends. */
  #unreported = 0;
  #reporting = false;

  constructor(
    /** Most connections handshaking at once. */
    readonly limit: number,
    private readonly deps: HandshakeAdmissionDeps,
  ) {}

  /** Connections handshaking now. */
  get handshaking(): number {
    return this.#handshaking;
  }

  /**
   * Takes a slot for a new connection from `remote`. Returns the function that gives it back
   * (call it when the peer authenticates or the connection closes; calls after the first do
   * nothing), or undefined when every slot is taken: the caller closes the connection.
   */
  admit(remote: string): (() => void) | undefined {
    if (this.#handshaking >= this.limit) {
      this.#turnedAway(remote);
      return undefined;
    }
    this.#handshaking++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#handshaking--;
    };
  }

  /**
   * The first turn-away of a quiet period is logged at once (an operator sees the flood start);
   * later ones are summed and logged when the interval ends, and again each interval while they
   * keep coming.
   */
  #turnedAway(remote: string): void {
    if (this.#reporting) {
      this.#unreported++;
      return;
    }
    this.#reporting = true;
    this.deps.logger.warn("peer connection turned away: too many unauthenticated connections", { remote, limit: this.limit });
    this.deps.schedule(TURNED_AWAY_REPORT_MS, () => this.#report());
  }

  #report(): void {
    if (this.#unreported === 0) {
      this.#reporting = false;
      return;
    }
    this.deps.logger.warn("peer connections turned away: too many unauthenticated connections", {
      connections: this.#unreported,
      withinMs: TURNED_AWAY_REPORT_MS,
      limit: this.limit,
    });
    this.#unreported = 0;
    this.deps.schedule(TURNED_AWAY_REPORT_MS, () => this.#report());
  }
}
