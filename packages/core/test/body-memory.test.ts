import { BodyMemory, MAX_RECYCLED_BODY } from '../src/storage/body-memory.js';

describe('BodyMemory', () => {
  test('takes exactly the size asked for, at the start of memory it owns', () => {
    const pool = new BodyMemory();
    const body = pool.take(100_000);
    expect(body.length).toBe(100_000);
    expect(body.byteOffset).toBe(0);
    expect(body.buffer.byteLength).toBeGreaterThanOrEqual(100_000);
    expect(pool.owns(body.buffer)).toBe(true);
    expect(pool.owns(new ArrayBuffer(100_000))).toBe(false);
    expect(pool.owns(new SharedArrayBuffer(16))).toBe(false);
  });

  test('memory given back is taken again for a body it fits, and not for one twice as small or larger', () => {
    const pool = new BodyMemory();
    const memory = pool.take(300_000).buffer;
    pool.give(memory);
    expect(pool.take(10_000).buffer).not.toBe(memory);
    expect(pool.take(400_000).buffer).not.toBe(memory);
    const again = pool.take(290_000);
    expect(again.buffer).toBe(memory);
    expect(again.length).toBe(290_000);
    // taken: not handed out twice
    expect(pool.take(290_000).buffer).not.toBe(memory);
  });

  test('memory moved to another thread and back is a new object the pool owns again', () => {
    const pool = new BodyMemory();
    const moved = structuredClone(pool.take(50_000).buffer, { transfer: [pool.take(50_000).buffer] });
    expect(pool.owns(moved)).toBe(false);
    pool.give(moved);
    expect(pool.owns(moved)).toBe(true);
    expect(pool.take(50_000).buffer).toBe(moved);
  });

  test('bodies larger than MAX_RECYCLED_BODY get memory of their own, never the pool\u2019s', () => {
    const pool = new BodyMemory();
    const big = pool.take(MAX_RECYCLED_BODY + 1);
    expect(big.length).toBe(MAX_RECYCLED_BODY + 1);
    expect(pool.owns(big.buffer)).toBe(false);
  });

  test('keeps a bounded amount: memory beyond it is left to the garbage collector', () => {
    const pool = new BodyMemory();
    const given = Array.from({ length: 100 }, () => pool.take(MAX_RECYCLED_BODY).buffer);
    for (const memory of given) pool.give(memory);
    const kept = new Set<ArrayBuffer>();
    for (let i = 0; i < 100; i++) {
      const memory = pool.take(MAX_RECYCLED_BODY).buffer;
      if (given.includes(memory)) kept.add(memory);
    }
    expect(kept.size).toBeGreaterThan(0);
    expect(kept.size * MAX_RECYCLED_BODY).toBeLessThanOrEqual(16 * 1024 * 1024);
  });
});
