import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/app-config.js';
import { compareEventIds, isEventId, OrderedDelivery, type StreamEvent } from './event-stream.port.js';
import { InProcessEventStream } from './in-process-event-stream.js';

const event = (id: string): StreamEvent => ({ id, type: 't', data: id });

describe('event ids', () => {
  it('compare as <ms>-<seq> pairs, not as strings', () => {
    expect(compareEventIds('10-0', '9-5')).toBeGreaterThan(0);
    expect(compareEventIds('10-2', '10-10')).toBeLessThan(0);
    expect(compareEventIds('7-1', '7-1')).toBe(0);
    expect(isEventId('1767225600000-0')).toBe(true);
    expect(isEventId('abc')).toBe(false);
    expect(isEventId('1-2-3')).toBe(false);
  });
});

describe('OrderedDelivery', () => {
  it('holds live events during the backlog, then delivers each id once and in order', () => {
    const seen: string[] = [];
    const delivery = new OrderedDelivery('1-0', (e) => seen.push(e.id));
    delivery.offer(event('3-0'));
    delivery.offer(event('4-0'));
    delivery.release([event('1-0'), event('2-0'), event('3-0')]);
    delivery.offer(event('4-0'));
    delivery.offer(event('5-0'));
    expect(seen).toEqual(['2-0', '3-0', '4-0', '5-0']);
  });
});

describe('InProcessEventStream', () => {
  it('replays after an id, goes live, and keeps at most EVENT_STREAM_MAX_LENGTH events', async () => {
    const stream = new InProcessEventStream(loadConfig({ EVENT_STREAM_MAX_LENGTH: '10' }));
    const ids: string[] = [];
    for (let i = 0; i < 12; i += 1) {
      ids.push(await stream.publish('s', 'n', i));
    }
    const replayed: unknown[] = [];
    const subscription = await stream.subscribe('s', ids[5], (e) => replayed.push(e.data));
    await stream.publish('s', 'n', 12);
    await stream.publish('other', 'n', 'elsewhere');
    subscription.close();
    await stream.publish('s', 'n', 13);
    expect(replayed).toEqual([6, 7, 8, 9, 10, 11, 12]);

    const fromStart: unknown[] = [];
    (await stream.subscribe('s', '0-0', (e) => fromStart.push(e.type === 'events.missed' ? 'missed' : e.data))).close();
    expect(fromStart).toEqual(['missed', 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);

    const liveOnly: unknown[] = [];
    const live = await stream.subscribe('s', undefined, (e) => liveOnly.push(e.data));
    await stream.publish('s', 'n', 14);
    live.close();
    expect(liveOnly).toEqual([14]);
  });
});

describe('InProcessEventStream resume past what it retains', () => {
  it('says events.missed first when events after Last-Event-ID were trimmed, and not otherwise', async () => {
    const stream = new InProcessEventStream(loadConfig({ EVENT_STREAM_MAX_LENGTH: '10' }));
    const ids: string[] = [];
    for (let i = 0; i < 15; i += 1) {
      ids.push(await stream.publish('s', 'n', i));
    }
    const trimmed: StreamEvent[] = [];
    (await stream.subscribe('s', ids[0], (e) => trimmed.push(e))).close();
    expect(trimmed[0]).toEqual({ id: ids[0], type: 'events.missed', data: { lastEventId: ids[0] } });
    expect(trimmed.slice(1).map((e) => e.data)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);

    const retained: StreamEvent[] = [];
    (await stream.subscribe('s', ids[6], (e) => retained.push(e))).close();
    expect(retained.map((e) => e.type)).not.toContain('events.missed');
    expect(retained.map((e) => e.data)).toEqual([7, 8, 9, 10, 11, 12, 13, 14]);
  });

  it('says events.missed for an id of a stream this process no longer has', async () => {
    const before = new InProcessEventStream(loadConfig({}));
    const oldId = await before.publish('other', 'n', 0);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const stream = new InProcessEventStream(loadConfig({}));
    const seen: StreamEvent[] = [];
    (await stream.subscribe('s', oldId, (e) => seen.push(e))).close();
    expect(seen.map((e) => e.type)).toEqual(['events.missed']);
  });
});
