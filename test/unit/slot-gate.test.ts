/**
 * SlotGate (lib/schedule/slot-gate.ts): at most `size` calls admitted, the rest wait in arrival order without
 * holding anything; abort and close reject waiters; release is idempotent; size 0 admits everything.
 */
import { describe, expect, it } from 'vitest';
import { SlotGate } from '../../lib/schedule/slot-gate.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('SlotGate', () => {
  it('admits `size` calls, queues the rest in order, and hands each freed slot to the next', async () => {
    const gate = new SlotGate(2);
    const order: number[] = [];
    const releases = await Promise.all([gate.acquire(undefined, () => 'x'), gate.acquire(undefined, () => 'x')]);
    const waiting = [3, 4, 5].map((n) => gate.acquire(undefined, () => 'x').then((release) => (order.push(n), release)));
    await tick();
    expect(gate.stats).toEqual({ inUse: 2, waiting: 3 });
    releases[0]!();
    releases[0]!(); // twice: no effect
    await tick();
    expect(order).toEqual([3]);
    expect(gate.stats).toEqual({ inUse: 2, waiting: 2 });
    releases[1]!();
    (await waiting[0]!)();
    await tick();
    expect(order).toEqual([3, 4, 5]);
    expect(gate.stats).toEqual({ inUse: 2, waiting: 0 });
  });

  it('an aborted waiter leaves the queue with the abort error; a signal already aborted rejects at once', async () => {
    const gate = new SlotGate(1);
    const held = await gate.acquire(undefined, () => 'x');
    const controller = new AbortController();
    const waiter = gate.acquire(controller.signal, () => new Error('aborted while waiting'));
    const next = gate.acquire(undefined, () => 'x');
    controller.abort();
    await expect(waiter).rejects.toThrow('aborted while waiting');
    expect(gate.stats.waiting).toBe(1);
    held();
    await expect(next).resolves.toBeTypeOf('function');
    const gone = new AbortController();
    gone.abort();
    await expect(gate.acquire(gone.signal, () => new Error('already'))).rejects.toThrow('already');
  });

  it('close rejects every waiter and every later acquire', async () => {
    const gate = new SlotGate(1);
    await gate.acquire(undefined, () => 'x');
    const waiter = gate.acquire(undefined, () => 'x');
    gate.close(new Error('closed'));
    await expect(waiter).rejects.toThrow('closed');
    await expect(gate.acquire(undefined, () => 'x')).rejects.toThrow('closed');
  });

  it('size 0 admits everything at once', async () => {
    const gate = new SlotGate(0);
    const all = await Promise.all(Array.from({ length: 50 }, () => gate.acquire(undefined, () => 'x')));
    expect(all).toHaveLength(50);
    expect(gate.stats).toEqual({ inUse: 0, waiting: 0 });
  });
});
