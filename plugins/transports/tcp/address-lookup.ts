/**
 * Finding where a node listens by asking the connected peers: a `where` frame on each link,
 * and the first `here` naming a valid address wins. Every peer answering that it does not know,
 * or no answer within the time limit, ends the lookup with `null`.
 *
 * @module
 */
import type { Timer } from "../../../core/interfaces/clock.ts";
import { parseAddress } from "../../../core/model/address.ts";
import type { NodeId } from "../../../core/model/sibling.ts";
import type { Frame } from "./frames.ts";
import type { PeerLink } from "./peer-link.ts";

/** What {@link AddressLookups} runs on: the transport's timers, links and address book. */
export interface AddressLookupDeps {
  /** How long a lookup waits for an answer, ms. */
  readonly timeoutMs: number;
  /** Timers of the transport, which cancels them when it stops. */
  schedule(ms: number, callback: () => void): Timer;
  /** Cancels a timer from {@link AddressLookupDeps.schedule}. */
  cancel(timer: Timer): void;
  /** Sends a frame on a link. */
  send(link: PeerLink, frame: Frame): void;
  /** Records the address found. */
  learn(node: NodeId, address: string): void;
}

/** The lookups of one transport, each waiting for its answers by id. */
export class AddressLookups {
  readonly #waiting = new Map<number, (address: string | null) => void>();
  #next = 1;

  constructor(private readonly deps: AddressLookupDeps) {}

  /** Asks every link in `links` where `node` listens; the first address wins. */
  find(node: NodeId, links: readonly PeerLink[]): Promise<string | null> {
    if (links.length === 0) return Promise.resolve(null);
    const { schedule, cancel, send, learn, timeoutMs } = this.deps;
    return new Promise((resolve) => {
      let waiting = links.length;
      const ids: number[] = [];
      const done = (address: string | null) => {
        for (const i of ids) this.#waiting.delete(i);
        cancel(timer);
        resolve(address);
      };
      const timer = schedule(timeoutMs, () => done(null));
      for (const link of links) {
        const i = this.#next++;
        ids.push(i);
        this.#waiting.set(i, (address) => {
          if (address && parseAddress(address)) {
            learn(node, address);
            done(address);
          } else if (--waiting === 0) done(null);
        });
        send(link, { k: "where", i, node });
      }
    });
  }

  /** A peer's `here` answer to lookup `id` (ignored once the lookup has ended). */
  answer(id: number, address: string | null): void {
    this.#waiting.get(id)?.(address);
  }

  /** Ends every lookup with `null` (the transport stopped). */
  endAll(): void {
    for (const resolve of this.#waiting.values()) resolve(null);
    this.#waiting.clear();
  }
}
