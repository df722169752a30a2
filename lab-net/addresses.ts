/**
 * Addresses of a real network: one /24 out of 198.18.0.0/15, the block RFC 2544 reserves for
 * benchmarking network devices, which no real network routes — so a lab address can never be
 * confused with a machine somewhere else. Nodes get `.1`, `.2`, ... in the order given; the host
 * (where the load generator runs) gets `.254` on the bridge. There is no default route in a
 * namespace and no NAT, so nothing a node sends can leave the machine.
 *
 * @module
 */
import { InvalidRequestError } from "../core/errors.ts";

/** How many /24 subnets 198.18.0.0/15 holds: subnet `k` is 198.(18 + k / 256).(k % 256).0/24. */
export const SUBNET_COUNT = 512;

/** The most nodes one network holds: `.1` to `.253` (`.254` is the host's, `.255` broadcast). */
export const MAX_NODES = 253;

/** The host's last octet in every subnet. */
const HOST_OCTET = 254;

/** One run's subnet and the addresses in it. */
export interface SubnetPlan {
  /** Which /24 of 198.18.0.0/15 (0 to 511). */
  readonly index: number;
  /** The subnet in CIDR notation, e.g. `198.18.0.0/24`. */
  readonly cidr: string;
  /** The host's address on the bridge, e.g. `198.18.0.254`. */
  readonly hostAddress: string;
  /** The address of the node at `position` (0-based), e.g. `198.18.0.1` for the first. */
  nodeAddress(position: number): string;
}

/** The addresses of subnet `index` (0 to 511) of 198.18.0.0/15. */
export function subnetPlan(index: number): SubnetPlan {
  if (!Number.isInteger(index) || index < 0 || index >= SUBNET_COUNT) {
    throw new InvalidRequestError(`subnet ${index} is not a /24 of 198.18.0.0/15 (0 to ${SUBNET_COUNT - 1})`, { subnet: index });
  }
  const base = `198.${18 + (index >> 8)}.${index & 255}`;
  return {
    index,
    cidr: `${base}.0/24`,
    hostAddress: `${base}.${HOST_OCTET}`,
    nodeAddress(position) {
      if (!Number.isInteger(position) || position < 0 || position >= MAX_NODES) {
        throw new InvalidRequestError(`node position ${position} is outside 0..${MAX_NODES - 1}`, { position });
      }
      return `${base}.${position + 1}`;
    },
  };
}

/** An IPv4 prefix as a 32-bit start and a length. */
interface Prefix {
  readonly start: number;
  readonly length: number;
}

function parsePrefix(cidr: string): Prefix | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(cidr);
  if (!m) return undefined;
  const octets = [m[1], m[2], m[3], m[4]].map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  const length = m[5] === undefined ? 32 : Number(m[5]);
  if (length > 32) return undefined;
  const address = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  return { start: length === 0 ? 0 : (address & (~0 << (32 - length))) >>> 0, length };
}

function overlaps(a: Prefix, b: Prefix): boolean {
  const length = Math.min(a.length, b.length);
  if (length === 0) return true;
  const mask = (~0 << (32 - length)) >>> 0;
  return ((a.start & mask) >>> 0) === ((b.start & mask) >>> 0);
}

/**
 * Whether subnet `index` overlaps any of `routes` (destinations in CIDR notation as `ip -j route`
 * prints them; `default` and other non-prefixes are ignored: a default route does not claim the
 * lab's addresses, a connected or static route does).
 */
export function subnetInUse(index: number, routes: readonly string[]): boolean {
  const own = parsePrefix(subnetPlan(index).cidr)!;
  return routes.some((dst) => {
    const prefix = parsePrefix(dst);
    return prefix !== undefined && prefix.length > 0 && overlaps(own, prefix);
  });
}
