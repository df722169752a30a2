/**
 * The HTTP API's sliding window of client traffic (`traffic` in `/status`, the live view): rates
 * over completed seconds, latency percentiles within a bucket's 10%, errors told apart from
 * answers, old seconds forgotten.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertThrows } from "@std/assert";
import { TrafficWindow } from "../server/traffic-window.ts";

describe("TrafficWindow", () => {
  it("counts completed seconds only, per operation, with p50 and p99 within 10%", () => {
    let now = 10_000;
    const traffic = new TrafficWindow(5, () => now);
    now = 20_000; // long after start: the whole window counts
    for (let s = 0; s < 5; s++) {
      for (let i = 1; i <= 100; i++) traffic.record("get", "ok", i === 100 ? 50 : 1 + i / 100);
      for (let i = 0; i < 20; i++) traffic.record("put", i < 2 ? "timeout" : "ok", 4);
      now += 1000;
    }
    traffic.record("get", "ok", 1000); // the current second: not counted yet
    const snap = traffic.snapshot();
    assertEquals(snap.windowSeconds, 5);
    assertEquals(snap.operations.get.requestsPerSecond, 100);
    assertEquals(snap.operations.put.requestsPerSecond, 20);
    assertEquals(snap.operations.put.errorsPerSecond, 2, "a timeout is an error");
    assertEquals(snap.operations.get.errorsPerSecond, 0);
    assertEquals(snap.requestsPerSecond, 120);
    const within = (x: number, truth: number) => x >= truth && x <= truth * 1.1 + 1e-9;
    assert(within(snap.operations.get.p50Ms, 1.5), `p50 ${snap.operations.get.p50Ms}`);
    assert(within(snap.operations.get.p99Ms, 1.99), `p99 ${snap.operations.get.p99Ms}`);
    assert(within(snap.operations.put.p99Ms, 4), `put p99 ${snap.operations.put.p99Ms}`);
    assertEquals(snap.operations.delete, { requestsPerSecond: 0, errorsPerSecond: 0, p50Ms: 0, p99Ms: 0 });
  });

  it("not_found and siblings are answers; seconds older than the window are forgotten", () => {
    let now = 0;
    const traffic = new TrafficWindow(3, () => now);
    now = 5_000;
    traffic.record("get", "not_found", 2);
    traffic.record("get", "siblings", 2);
    now = 6_000;
    assertEquals(traffic.snapshot().operations.get.errorsPerSecond, 0);
    assertEquals(traffic.snapshot().operations.get.requestsPerSecond, 0.667, "two requests over three seconds, to 3 decimals");
    now = 9_500;
    assertEquals(traffic.snapshot().requestsPerSecond, 0, "three seconds later the window is empty");
  });

  it("just after start, the rate is over the seconds that have passed", () => {
    let now = 1_000;
    const traffic = new TrafficWindow(5, () => now);
    for (let i = 0; i < 10; i++) traffic.record("put", "ok", 1);
    now = 2_000;
    assertEquals(traffic.snapshot().windowSeconds, 1);
    assertEquals(traffic.snapshot().requestsPerSecond, 10);
  });

  it("refuses a window it cannot hold", () => {
    assertThrows(() => new TrafficWindow(0), RangeError);
    assertThrows(() => new TrafficWindow(1.5), RangeError);
  });
});
